/* Client side of a Hub's Xet CAS (specs/xet-storage.md §1.5, docs/http-api.md "Xet CAS"): the
 * short-lived CAS token of a repo and revision, and authenticated requests to the CAS.
 *
 * A session asks the Hub for a token at GET /api/{T}s/{repo}/xet-{read|write}-token/{rev} (the
 * Hub token of the client authorizes it) and keeps {casUrl, accessToken, exp}; every CAS request
 * made through weft_xet_session_send carries "Authorization: Bearer <accessToken>" and the token
 * is fetched again when it is within 30 s of expiring or the CAS answered 401. A session is
 * thread-safe (the token is swapped under a lock). A Hub without Xet answers 404 on the token
 * route: weft_xet_session_open then fails with WEFT_ENOTFOUND and callers fall back to LFS or
 * plain downloads. */
#ifndef WEFT_XET_CLIENT_H
#define WEFT_XET_CLIENT_H

#include <stdint.h>

#include "weft/client.h"
#include "weft/err.h"

typedef struct weft_xet_session weft_xet_session;

/* Opens a read (write = 0) or write session for `repo` at `revision` (NULL: "main"). The token
 * route may also be given directly as `refresh_url` (the X-Xet-Refresh-Route / rel="xet-auth"
 * URL of a resolve answer); then repo and revision are not used and may be NULL. */
WEFT_MUST_USE int weft_xet_session_open(weft_xet_session **out, weft_client *c,
                                        const weft_client_repo *repo, const char *revision,
                                        int write, const char *refresh_url);
void weft_xet_session_free(weft_xet_session *s);

/* The CAS base URL (no trailing '/'); borrowed until the session is freed. */
const char *weft_xet_session_cas_url(const weft_xet_session *s);

/* Sends `req` with req->url either absolute or a path under the CAS URL ("/v1/..."), with the CAS
 * token; retries once with a fresh token on 401. Same contract as weft_client_send otherwise
 * (req->headers must not hold an Authorization header). */
WEFT_MUST_USE int weft_xet_session_send(weft_xet_session *s, weft_client_resp *resp,
                                        const weft_client_req *req);

#endif
