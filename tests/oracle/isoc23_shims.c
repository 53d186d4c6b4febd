/* Debian sid's libbpf.a is built against glibc 2.38, whose headers map sscanf, fscanf and strtoull to
 * C23 entry points that Debian 12's glibc 2.36 lacks. These forward them to the plain functions; libbpf's
 * formats use none of C23's changes (%b, 0b prefixes). Linked into libbpf-oracle-1.7 only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int __isoc23_sscanf(const char *s, const char *fmt, ...);
int __isoc23_fscanf(FILE *f, const char *fmt, ...);
unsigned long long __isoc23_strtoull(const char *s, char **end, int base);

int __isoc23_sscanf(const char *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const int n = vsscanf(s, fmt, ap);
	va_end(ap);
	return n;
}

int __isoc23_fscanf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const int n = vfscanf(f, fmt, ap);
	va_end(ap);
	return n;
}

unsigned long long __isoc23_strtoull(const char *s, char **end, int base)
{
	return strtoull(s, end, base);
}
