/* A tiny C test harness: CHECK() records failures, TEST_MAIN runs the cases and prints
 * '<suite>: N passed, M failed' (the line tests/run.ts and CI count). */
#ifndef FNAT_CHECK_H
#define FNAT_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures_in_case;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failures_in_case++;                                          \
		}                                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                                     \
	do {                                                                               \
		long long _a = (long long)(a), _b = (long long)(b);                        \
		if (_a != _b) {                                                            \
			fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,    \
				__LINE__, #a, #b, _a, _b);                                 \
			check_failures_in_case++;                                          \
		}                                                                          \
	} while (0)

struct check_case {
	const char *name;
	void (*fn)(void);
};

static inline int check_run(const char *suite, const struct check_case *cases, size_t n)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		check_failures_in_case = 0;
		cases[i].fn();
		if (check_failures_in_case == 0) {
			passed++;
			printf("ok   %s: %s\n", suite, cases[i].name);
		} else {
			failed++;
			printf("FAIL %s: %s\n", suite, cases[i].name);
		}
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	fflush(stdout);
	return failed == 0 ? 0 : 1;
}

#define CASE(f) { #f, f }
#define TEST_MAIN(suite, ...)                                                              \
	int main(void)                                                                     \
	{                                                                                  \
		static const struct check_case cases[] = { __VA_ARGS__ };                  \
		return check_run(suite, cases, sizeof(cases) / sizeof(cases[0]));          \
	}

#endif
