/**
 * The script a node runs to switch to an uploaded release: `sh -c SWITCH_SCRIPT switch ROOT
 * VERSION SHA256`, after lvsctl uploaded the tarball to `ROOT/releases/VERSION.tar.gz`. It needs
 * a POSIX shell, GNU tar, coreutils (`sha256sum`, `realpath`, `readlink`) and awk.
 *
 * 1. The version must be a safe directory name (the rule of `checkReleaseVersion`) and the
 *    sha256 64 hex digits; the tarball's sha256 must equal the one recorded at build time.
 * 2. A release already unpacked with the same sha256 is not unpacked again (a resumed rollout,
 *    a rollback); one with the same version but other content is refused while it runs or is
 *    kept for a rollback.
 * 3. The tarball's listing is checked before anything is unpacked: no absolute name, no `..`,
 *    no link that leaves the release, no device, FIFO or socket, no setuid or setgid bit
 *    ({@linkcode LISTING_CHECK_AWK}, the shell twin of `releaseEntryProblems`).
 * 4. It is unpacked into a staging directory owned by root (`--no-same-owner`), its VERSION
 *    must say VERSION, and every link is resolved on disk: one that leads outside is refused.
 * 5. `current` switches atomically; the release it pointed at becomes `previous`.
 * 6. Older releases are pruned: `current`, `previous` and the one the supervisor runs
 *    (`running`) are never deleted.
 *
 * It prints why it refuses on stderr and exits non-zero; a refusal leaves the node as it was.
 *
 * @module
 */
import { TAR_LISTING_OPTIONS } from "./release_entries.ts";

/**
 * The awk program that checks a GNU tar listing (`TAR_LISTING_OPTIONS`) before a node unpacks
 * it; it prints one line per refused entry on stderr and exits 1 when there is one. Symbolic
 * links are checked one by one here; links that leave through other links are caught on disk
 * after unpacking (and by lvsctl before the upload).
 */
export const LISTING_CHECK_AWK = String.raw`
function quoted(s,    j, c, out) {
  out = ""
  for (j = 2; j <= length(s); j++) {
    c = substr(s, j, 1)
    if (c == "\\") { out = out c substr(s, j + 1, 1); j++; continue }
    if (c == "\"") { qend = j + 1; return out }
    out = out c
  }
  qend = 0
  return out
}
function refuse(msg) { print name ": " msg > "/dev/stderr"; bad = 1 }
function dotdot(p) { return ("/" p "/") ~ /\/\.\.\// }
function leaves(name, link,    n, k, depth, parts) {
  if (link == "" || substr(link, 1, 1) == "/") return 1
  depth = 0
  n = split(name, parts, "/")
  for (k = 1; k < n; k++) if (parts[k] != "" && parts[k] != ".") depth++
  n = split(link, parts, "/")
  for (k = 1; k <= n; k++) {
    if (parts[k] == "..") { if (--depth < 0) return 1 }
    else if (parts[k] != "" && parts[k] != ".") depth++
  }
  return 0
}
{
  type = substr($0, 1, 1)
  perm = substr($0, 2, 9)
  i = index($0, "\"")
  if (i < 11) { print "unreadable listing line: " $0 > "/dev/stderr"; bad = 1; next }
  rest = substr($0, i)
  name = quoted(rest)
  if (qend == 0) { print "unreadable listing line: " $0 > "/dev/stderr"; bad = 1; next }
  rest = substr(rest, qend)
  link = ""
  if (substr(rest, 1, 5) == " -> \"") link = quoted(substr(rest, 5))
  else if (substr(rest, 1, 10) == " link to \"") link = quoted(substr(rest, 10))
  if (substr(name, 1, 1) == "/") refuse("an absolute path")
  if (dotdot(name)) refuse("a \047..\047 segment in the path")
  if (type !~ /^[-dlh]$/) refuse("not a file, directory or link (type " type ")")
  if (substr(perm, 3, 1) ~ /[sS]/ || substr(perm, 6, 1) ~ /[sS]/) refuse("setuid or setgid")
  if (type == "l" && leaves(name, link)) refuse("a symbolic link to " link ", outside the release")
  if (type == "h" && (link == "" || substr(link, 1, 1) == "/" || dotdot(link))) {
    refuse("a hard link to " link ", outside the release")
  }
}
END { exit bad }
`;

/** The check of every unpacked link on disk (`sh -c LINKS_ON_DISK sh BASE LINK...`). */
const LINKS_ON_DISK = `
base=$1
shift
for l do
  t=$(realpath -m -- "$l")
  case $t in
    "$base" | "$base"/*) ;;
    *) echo ".\${l#"$base"}: a symbolic link to $(readlink -- "$l"), outside the release" >&2
       exit 1 ;;
  esac
done
`;

/** The shell script that checks, unpacks and switches a release ($1 root, $2 version, $3 sha256). */
export const SWITCH_SCRIPT = `set -eu
root=$1 v=$2 sum=$3
fail() { echo "switch to release '$v': $*" >&2; exit 1; }
case $v in
  "" | [!0-9A-Za-z]* | *[!0-9A-Za-z.+_-]*)
    fail "invalid release version: use 1-64 letters, digits, '.', '+', '_', '-' starting with a letter or digit" ;;
esac
[ \${#v} -le 64 ] || fail "invalid release version: longer than 64 characters"
case $sum in
  "" | *[!0-9a-f]*) fail "invalid sha256 '$sum': 64 lowercase hex digits expected" ;;
esac
[ \${#sum} -eq 64 ] || fail "invalid sha256 '$sum': 64 lowercase hex digits expected"
r=$root/releases
d=$r/$v
t=$r/$v.tar.gz
s=$r/.stage-$v
trap 'rm -rf -- "$s"' EXIT
[ -f "$t" ] || fail "$t is missing"
got=$(sha256sum < "$t")
got=\${got%% *}
[ "$got" = "$sum" ] || fail "$t has sha256 $got, expected $sum: a corrupt upload or another tarball"
here() { readlink -f -- "$1" 2>/dev/null || true; }
rr=$(cd -- "$r" && pwd -P)
cur=$(here "$root/current")
prev=$(here "$root/previous")
run=$(here "$root/running")
unpack=yes
if [ -d "$d" ]; then
  dr=$(cd -- "$d" && pwd -P)
  if [ -f "$d.sha256" ] && [ "$(cat -- "$d.sha256")" = "$sum" ]; then
    unpack=no
  elif [ "$dr" = "$cur" ] || [ "$dr" = "$prev" ] || [ "$dr" = "$run" ]; then
    fail "$d is running or kept for a rollback and holds other content: give the new release a new version"
  fi
fi
if [ $unpack = yes ]; then
  rm -rf -- "$s"
  mkdir -p -- "$s/tree"
  tar ${TAR_LISTING_OPTIONS.join(" ")} --file "$t" > "$s/listing" || fail "cannot list $t"
  awk '${LISTING_CHECK_AWK}' "$s/listing" || fail "$t is refused before unpacking (entries above)"
  tar --extract --gzip --no-same-owner --file "$t" -C "$s/tree" || fail "cannot unpack $t"
  base=$(cd -- "$s/tree" && pwd -P)
  [ "$(cat -- "$base/VERSION" 2>/dev/null)" = "$v" ] || fail "the VERSION file in $t does not say $v"
  find "$base" -type l -exec sh -c '${LINKS_ON_DISK}' sh "$base" {} + ||
    fail "$t is refused after unpacking (entries above)"
  odd=$(find "$base" ! -type f ! -type d ! -type l -print)
  [ -z "$odd" ] || fail "$t unpacked special files: $odd"
  rm -rf -- "$d"
  mv -- "$base" "$d"
  echo "$sum" > "$d.sha256"
fi
dr=$(cd -- "$d" && pwd -P)
if [ "$dr" != "$cur" ]; then
  if [ -n "$cur" ] && [ -d "$cur" ]; then
    ln -sfn -- "$cur" "$root/previous.new"
    mv -T -- "$root/previous.new" "$root/previous"
  fi
  ln -sfn -- "$dr" "$root/current.new"
  mv -T -- "$root/current.new" "$root/current"
fi
prev=$(here "$root/previous")
for e in "$r"/*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  b=\${e##*/}
  for k in "$dr" "$prev" "$run"; do
    case $k in "$rr"/*) k=\${k#"$rr"/} ;; *) continue ;; esac
    case $b in "$k" | "$k.tar.gz" | "$k.sha256") continue 2 ;; esac
  done
  rm -rf -- "$e"
done
`;
