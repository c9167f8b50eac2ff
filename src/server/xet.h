/* The Xet side of the hub (specs/xet-storage.md §1.5): the token routes of the Hub API, the CAS API
 * under /v1 and /v2 (xorbs, shards, reconstructions, global dedup, and the signed fetch URLs the
 * reconstructions point at), and the Xet signals added to resolve answers and LFS batch answers.
 * Everything here is active only when the hub runs with Xet on (hub.xet); otherwise no Xet
 * header or field is ever emitted (specs/hf-hub-api.md §8.6) and the token routes answer 404.
 *
 * Credentials: CAS calls carry a token from the token routes (weft/xet_token.h: repo, mode,
 * expiry, signed with hub.xet_key); a read token serves reconstructions and dedup queries, a
 * write token also xorb and shard uploads. Fetch URLs carry their own signature (xorb, byte
 * ranges, expiry), since clients send no Authorization header to them. Content addresses act as
 * capabilities, as LFS oids do for the LFS routes: a read token for any repo lets a client
 * reconstruct a file whose Xet hash it knows (it learns hashes only from repos it can read). */
#ifndef WEFT_SERVER_XET_H
#define WEFT_SERVER_XET_H

#include <jansson.h>

#include "server/hub.h"

/* GET /api/{T}/NS/NAME/xet-{read|write}-token/REV -> {accessToken, casUrl, exp}, the same in
 * X-Xet-Cas-Url, X-Xet-Access-Token and X-Xet-Token-Expiration headers (route extra: "read" or
 * "write"; write needs write access to the repo). */
void xet_token(weft_http_req *req);

/* Requests under /v1/ and /v2/: the CAS API. */
void xet_cas_dispatch(weft_http_req *req, hub *h);

/* Adds X-Xet-Hash, X-Xet-Refresh-Route and the Link rels xet-auth and xet-reconstruction-info to
 * a resolve answer for file f (nothing when the request is not a repo's resolve route). */
void xet_resolve_headers(weft_http_req *req, hub *h, const weft_store_file *f);

/* When a resolve request asks for application/vnd.xet-fileinfo+json (the JS client's
 * fileDownloadInfo, specs/hf-hub-api.md §7.4), answers with that JSON and returns 1; else 0.
 * Call after xet_resolve_headers and the ETag / X-Linked-Size headers. */
int xet_respond_fileinfo(weft_http_req *req, hub *h, const weft_store_file *f);

/* The upload action of an LFS batch object answered with transfer "xet" (specs/hf-hub-api.md
 * §8.3, §8.6): href = the write-token route for ref (NULL = "main"), header = X-Xet-Cas-Url,
 * X-Xet-Access-Token, X-Xet-Token-Expiration, X-Xet-Session-Id. The caller has checked write
 * access. A new reference, NULL only when out of memory. */
json_t *xet_lfs_upload_action(weft_http_req *req, hub *h, weft_repo_type type, const char *ns,
                              const char *name, const char *ref);

#endif
