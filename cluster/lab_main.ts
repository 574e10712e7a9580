/**
 * Entry point reserved by deno.json; its issue has not landed yet.
 *
 * @module
 */
if (import.meta.main) {
  console.error(
    `${new URL(import.meta.url).pathname.split("/").slice(-2).join("/")}: not implemented yet`,
  );
  Deno.exit(2);
}
