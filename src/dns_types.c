/* dns_types.c - DNS type names for configs and explanations. */
#include "config.h"
#include "dns_types.h"
#include "sluice.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static const struct {
	const char *name;
	uint16_t type;
} types[] = {
	{"A", 1},      {"NS", 2},      {"CNAME", 5},   {"SOA", 6},    {"PTR", 12},
	{"MX", 15},    {"TXT", 16},    {"AAAA", 28},   {"SRV", 33},   {"NAPTR", 35},
	{"DS", 43},    {"RRSIG", 46},  {"NSEC", 47},   {"DNSKEY", 48}, {"NSEC3", 50},
	{"SVCB", 64},  {"HTTPS", 65},  {"ANY", 255},   {"CAA", 257},
};

uint16_t dns_type_parse(const char *s)
{
	uint64_t v;

	for (size_t i = 0; i < SL_ARRAY_LEN(types); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	if (strncasecmp(s, "TYPE", 4) == 0)
		s += 4;
	if (sl_parse_uint(s, 1, 65535, &v) == 0)
		return (uint16_t)v;
	return 0;
}

const char *dns_type_name(uint16_t t, char *buf, size_t len)
{
	for (size_t i = 0; i < SL_ARRAY_LEN(types); i++)
		if (types[i].type == t)
			return types[i].name;
	snprintf(buf, len, "TYPE%u", t);
	return buf;
}
