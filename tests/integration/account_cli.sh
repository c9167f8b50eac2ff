#!/usr/bin/env bash
# weft user / org / token against the real binary: every subcommand, the data directory choice
# (--data, $WEFT_HOME, ./weft-data), tokens printed once and never again, revocation in each
# form, documented exit codes for bad input, and help texts.
source "$(dirname "$0")/lib/common.sh"
data=$work/data
W() { "$weft" "$@"; }

# ---- users ----
expect_status 0 W user create alice --data "$data"
grep -q "created user alice" "$work/out" || fail "user create output: $(cat "$work/out")"
[ -f "$data/meta.db" ] || fail "--data DIR: no DIR/meta.db"
[ "$(stat -c %a "$data/meta.db")" = 600 ] || fail "meta.db is not private (0600)"
expect_status 0 W user --data "$data" create root --admin
expect_status 0 W user create --data="$data" bob
expect_status 1 W user create alice --data "$data"
grep -q "^weft: .*alice.*taken" "$work/err" || fail "duplicate user: $(cat "$work/err")"
expect_status 1 W user create ALICE --data "$data"
for bad in -- .. -a a- "a/b" "a b" "" "$(printf 'x%.0s' $(seq 97))"; do
    expect_status 2 W user create --data "$data" -- "$bad"
    grep -q "^weft: invalid user name" "$work/err" || fail "bad name '$bad': $(cat "$work/err")"
done
expect_status 0 W user create --data "$data" -- "$(printf 'y%.0s' $(seq 96))"
expect_status 2 W user create --data "$data" -x
grep -q "unknown option '-x'" "$work/err" || fail "unknown option: $(cat "$work/err")"
expect_status 2 W user create --data "$data"
expect_status 2 W user create --data "$data" a b
ok "user create: names, duplicates, options"

# ---- orgs ----
expect_status 0 W org create acme --owner alice --data "$data"
expect_status 3 W org create other --owner nobody --data "$data"
grep -q "nobody" "$work/err" || fail "unknown owner not named: $(cat "$work/err")"
expect_status 2 W org create other --data "$data"
grep -q "owner" "$work/err" || fail "missing --owner: $(cat "$work/err")"
expect_status 1 W org create bob --owner alice --data "$data"
expect_status 2 W org create "a..b" --owner alice --data "$data"
expect_status 0 W org add acme bob --data "$data"
expect_status 0 W org add acme root --admin --data "$data"
expect_status 3 W org add acme nobody --data "$data"
expect_status 3 W org add nobody bob --data "$data"
expect_status 3 W org add bob alice --data "$data"
expect_status 0 W org ls --data "$data"
grep -q "^acme .*alice\*.*bob" "$work/out" || fail "org ls: $(cat "$work/out")"
grep -q "root\*" "$work/out" || fail "org ls: admin not marked: $(cat "$work/out")"
expect_status 0 W org ls --json --data "$data"
grep -q '"name":"acme"' "$work/out" || fail "org ls --json: $(cat "$work/out")"
grep -q '{"name":"bob","admin":false}' "$work/out" || fail "org ls --json members"
expect_status 0 W org rm acme bob --data "$data"
expect_status 3 W org rm acme bob --data "$data"
grep -q "not a member" "$work/err" || fail "rm of a non-member: $(cat "$work/err")"
expect_status 0 W org ls --data "$data"
grep -q "bob" "$work/out" && fail "bob still listed after org rm"
expect_status 2 W org add acme --data "$data"
ok "org create, add, rm, ls"

# ---- user ls ----
expect_status 0 W user ls --data "$data"
grep -q "^alice .* acme" "$work/out" || fail "user ls: $(cat "$work/out")"
grep -q "^root .*admin" "$work/out" || fail "user ls: admin: $(cat "$work/out")"
grep -q "^acme" "$work/out" && fail "user ls lists an org"
expect_status 0 W user ls --json --data "$data"
[ "$(wc -l < "$work/out")" = 4 ] || fail "user ls --json: want 4 users: $(cat "$work/out")"
grep -q '^{"name":"alice","admin":false,"created":"[0-9T:-]*Z","orgs":\["acme"\]}$' "$work/out" \
    || fail "user ls --json: $(cat "$work/out")"
grep -q '"name":"root","admin":true' "$work/out" || fail "user ls --json admin"
ok "user ls, text and json"

# ---- tokens ----
expect_status 0 W token create alice --name laptop --data "$data"
tok=$(cat "$work/out")
[ "$(wc -l < "$work/out")" = 1 ] || fail "token create printed more than the token"
[[ $tok =~ ^hf_[A-Za-z0-9]{34}$ ]] || fail "token format: '$tok'"
grep -qi "not be shown again" "$work/err" || fail "no note on stderr: $(cat "$work/err")"
grep -q "hf_" "$work/err" && fail "the note repeats the token"
expect_status 0 W token create alice --role read --name ci --data "$data"
tok_ci1=$(cat "$work/out")
expect_status 0 W token create alice --role=admin --name=ci --data "$data"
tok_ci2=$(cat "$work/out")
expect_status 0 W token create bob --data "$data"
tok_bob=$(cat "$work/out")
[ "$tok" != "$tok_ci1" ] && [ "$tok_ci1" != "$tok_bob" ] || fail "tokens repeat"
expect_status 3 W token create nobody --data "$data"
grep -q "nobody" "$work/err" || fail "unknown user not named"
expect_status 3 W token create acme --data "$data"
expect_status 2 W token create alice --role owner --data "$data"
grep -q "invalid role 'owner'" "$work/err" || fail "bad role: $(cat "$work/err")"
expect_status 2 W token create --data "$data"
# The plain tokens are nowhere on disk.
for t in "$tok" "$tok_ci1" "$tok_ci2" "$tok_bob"; do
    if grep -rqa "${t#hf_}" "$data"; then fail "a plain token is stored in $data"; fi
done
ok "token create: format, printed once, roles, errors, stored hashed"

expect_status 0 W token ls --data "$data"
[ "$(grep -c '^[0-9]' "$work/out")" = 4 ] || fail "token ls: $(cat "$work/out")"
grep -q "^ID .*USER .*ROLE" "$work/out" || fail "token ls header"
grep -q "alice .* read .* never .* ci$" "$work/out" || fail "token ls row: $(cat "$work/out")"
grep -q "hf_" "$work/out" && fail "token ls shows a token"
expect_status 0 W token ls alice --json --data "$data"
[ "$(wc -l < "$work/out")" = 3 ] || fail "token ls alice --json: $(cat "$work/out")"
grep -q '"user":"alice","name":"laptop","role":"write"' "$work/out" || fail "token json"
grep -q '"last_used":null' "$work/out" || fail "token json last_used"
grep -q "hf_" "$work/out" && fail "token ls --json shows a token"
expect_status 3 W token ls nobody --data "$data"
[ -s "$work/out" ] && fail "token ls of an unknown user printed: $(cat "$work/out")"
expect_status 2 W token ls a b --data "$data"
ok "token ls, text and json, never the token"

# Revocation by each form.
expect_status 0 W token revoke "$tok" --data "$data"
grep -q "hf_" "$work/out" && fail "revoke echoes the token"
expect_status 3 W token revoke "$tok" --data "$data"
expect_status 0 W token revoke alice/ci --data "$data"
expect_status 3 W token revoke alice/ci --data "$data"
expect_status 0 W token ls alice --data "$data"
grep -q '^[0-9]' "$work/out" && fail "alice's tokens not all revoked: $(cat "$work/out")"
id=$(W token ls bob --json --data "$data" | sed -E 's/.*"id":([0-9]+).*/\1/')
[ -n "$id" ] || fail "no id for bob's token"
expect_status 0 W token revoke "$id" --data "$data"
expect_status 3 W token revoke "$id" --data "$data"
expect_status 3 W token revoke nobody/x --data "$data"
expect_status 2 W token revoke 'not a token' --data "$data"
expect_status 2 W token revoke hf_short --data "$data"
expect_status 2 W token revoke --data "$data"
expect_status 0 W token ls --data "$data"
[ "$(grep -c '^[0-9]' "$work/out")" = 0 ] || fail "tokens left: $(cat "$work/out")"
ok "token revoke by token, USER/NAME and id"

# ---- the data directory: $WEFT_HOME, then ./weft-data ----
WEFT_HOME=$work/home "$weft" user create carol > /dev/null || fail "WEFT_HOME"
[ -f "$work/home/meta.db" ] || fail "\$WEFT_HOME not used"
WEFT_HOME=$work/home expect_status 0 W user ls
grep -q carol "$work/out" || fail "user ls via WEFT_HOME"
(cd "$work" && env -u WEFT_HOME "$weft" user create dave > /dev/null) || fail "default dir"
[ -f "$work/weft-data/meta.db" ] || fail "./weft-data not used by default"
expect_status 2 W user ls --data
ok "data directory: --data, \$WEFT_HOME, ./weft-data"

# ---- help and unknown subcommands ----
for cmd in user org token; do
    expect_status 0 W "$cmd" --help
    grep -q "^usage: weft $cmd" "$work/out" || fail "$cmd --help has no usage line"
    grep -q -- "--data" "$work/out" || fail "$cmd --help does not mention --data"
    expect_status 2 W "$cmd"
    expect_status 2 W "$cmd" frobnicate --data "$data"
    grep -q "unknown $cmd subcommand 'frobnicate'" "$work/err" || fail "$cmd frobnicate"
done
for sub in "user create" "user ls" "org create" "org add" "org rm" "org ls" "token create" \
    "token revoke" "token ls"; do
    # shellcheck disable=SC2086
    expect_status 0 W $sub --help
    grep -q "^usage: weft $sub" "$work/out" || fail "$sub --help has no usage line"
    grep -qi "example" "$work/out" || fail "$sub --help has no example"
done
expect_status 0 W token create --data "$work/nohelp" --help
[ -e "$work/nohelp" ] && fail "help created a data directory"
W --help > "$work/out"
grep -q "token" "$work/out" || fail "weft --help does not list token"
ok "help for every command and subcommand"
