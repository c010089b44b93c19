/* dns_types.h - DNS type names, for configs (qtype: matchers, `sluice
 * match NAME TYPE`) and explanations. */
#ifndef DNS_TYPES_H
#define DNS_TYPES_H

#include <stddef.h>
#include <stdint.h>

/** Parse a DNS type name ("A", "AAAA", "HTTPS", "TYPE65", "65"); 0 when unknown. */
uint16_t dns_type_parse(const char *s);

/** Name of a DNS type ("A", "TYPE1234"); buf is used for unnamed ones. */
const char *dns_type_name(uint16_t t, char *buf, size_t len);

#endif
