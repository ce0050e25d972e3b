/* SPDX-License-Identifier: MIT */
/* Docker json-file log records, written without a JSON library: the
 * monitor links libc alone. Only writing: husk reads them with jansson. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_line.h"

static int put(struct json_line *o, const char *s, size_t len)
{
	if (o->len + len + 1 > o->cap) {
		size_t cap = (o->cap ? o->cap * 2 : 256) + len;
		char *grown = realloc(o->data, cap);
		if (grown == NULL)
			return -1;
		o->data = grown;
		o->cap = cap;
	}
	memcpy(o->data + o->len, s, len);
	o->len += len;
	return 0;
}

/* The length of a valid UTF-8 sequence at s (n bytes available): 1-4, 0
 * when invalid, -1 when it is cut short by the end of the buffer. */
static int utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	int len;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int put_escaped(struct json_line *o, const unsigned char *s, size_t n)
{
	char esc[8];

	for (size_t i = 0; i < n;) {
		int len = utf8_sequence(s + i, n - i);
		unsigned char c = s[i];
		if (len <= 0) {
			if (put(o, "\\ufffd", 6) < 0)
				return -1;
			i++;
			continue;
		}
		if (len > 1) {
			if (put(o, (const char *)s + i, (size_t)len) < 0)
				return -1;
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c;
			if (put(o, esc, 2) < 0)
				return -1;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
			if (put(o, esc, 2) < 0)
				return -1;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			if (put(o, esc, 6) < 0)
				return -1;
		} else if (put(o, (const char *)&c, 1) < 0) {
			return -1;
		}
		i += (size_t)len;
	}
	return 0;
}

static int put_record(struct json_line *o, const unsigned char *s, size_t n, const char *stream,
		      const char *time)
{
	if (put(o, "{\"log\":\"", 8) < 0 || put_escaped(o, s, n) < 0 ||
	    put(o, "\",\"stream\":\"", 12) < 0 || put(o, stream, strlen(stream)) < 0 ||
	    put(o, "\",\"time\":\"", 10) < 0 || put(o, time, strlen(time)) < 0 ||
	    put(o, "\"}\n", 3) < 0)
		return -1;
	return 0;
}

/* How many bytes at the end of s are the start of a character the next
 * chunk completes. */
static size_t incomplete_tail(const unsigned char *s, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		int len = utf8_sequence(s + n - back, back);
		if (len == -1)
			return back;
		if (s[n - back] >= 0xc0 || s[n - back] < 0x80)
			return 0;
	}
	return 0;
}

static int put_chunk(struct json_line *o, const unsigned char *s, size_t n, const char *stream,
		     const char *time)
{
	while (n > 0) {
		const unsigned char *nl = memchr(s, '\n', n);
		size_t len = nl ? (size_t)(nl - s) + 1 : n;
		if (put_record(o, s, len, stream, time) < 0)
			return -1;
		s += len;
		n -= len;
	}
	return 0;
}

int json_line_build(struct json_line *out, struct utf8_carry *carry, const char *buf, size_t len,
		    const char *stream, int64_t time_ns)
{
	char time[64];
	struct tm tm;
	time_t sec = (time_t)(time_ns / 1000000000LL);
	unsigned char *joined;
	size_t n = carry->len + len, tail;
	int r;

	gmtime_r(&sec, &tm);
	snprintf(time, sizeof(time), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long long)(time_ns % 1000000000LL));
	joined = malloc(n + 1);
	if (joined == NULL)
		return -1;
	memcpy(joined, carry->bytes, carry->len);
	if (len)
		memcpy(joined + carry->len, buf, len);
	tail = buf ? incomplete_tail(joined, n) : 0;
	carry->len = tail;
	memcpy(carry->bytes, joined + n - tail, tail);
	r = put_chunk(out, joined, n - tail, stream, time);
	free(joined);
	return r;
}
