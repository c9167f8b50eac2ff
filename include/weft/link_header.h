/* The Link response header (RFC 8288) as Hub servers send it: the Hub pages its lists with
 * `Link: <https://…?cursor=…>; rel="next"` (specs/hf-hub-api.md) and announces the Xet token
 * URL with `rel="xet-auth"`.
 *
 * A header value is a comma-separated list of link values `<URI> *( ";" param )`; a param is
 * `name [= token | quoted-string]`. A link matches when one of its `rel` params (name compared
 * without case) lists the wanted relation among its space-separated relation types (compared
 * without case). Commas inside `<…>` and inside quoted strings do not split links. A link value
 * that does not parse is skipped up to the next comma outside quotes; parsing never reads past
 * the terminating NUL and takes time linear in the value's length.
 *
 * Pure function, thread-safe. */
#ifndef WEFT_LINK_HEADER_H
#define WEFT_LINK_HEADER_H

#include "weft/err.h"

/* Sets *out to a new copy of the URI of the first link in `value` whose rel lists `rel`, or to
 * NULL when there is none (value may be NULL). Returns 0, or WEFT_ENOMEM. The caller frees *out. */
WEFT_MUST_USE int weft_link_find(char **out, const char *value, const char *rel);

#endif
