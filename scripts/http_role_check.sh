#!/bin/bash
# Over-HTTP role matrix and forged-callback check of a bench site (docs/operations.md: "Roles")
# Run from the bench directory (frappe-bench) with nothing listening on :8000:
#     bash apps/tuktuk_management/scripts/http_role_check.sh SITE
# It creates test users, drivers and payments (tuktuk_management.tests.http_role_check), starts
# gunicorn, prints the HTTP code each caller gets, stops gunicorn and removes what it created.
set -u
SITE=${1:?usage: http_role_check.sh SITE}
METHODS=$(mktemp)
# Every whitelisted method of the app that is not a Daraja callback, with its parameter names.
./env/bin/python - > "$METHODS" <<'PY'
import ast, pathlib
for path in sorted(pathlib.Path("apps/tuktuk_management/tuktuk_management").rglob("*.py")):
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            keywords = {k.arg: ast.unparse(k.value) for k in getattr(decorator, "keywords", [])}
            if ast.unparse(target) == "frappe.whitelist" and keywords.get("allow_guest") != "True":
                module = ".".join(path.relative_to("apps/tuktuk_management").with_suffix("").parts)
                print(module + "." + node.name, *[a.arg for a in node.args.args])
PY
PW=Tuktuk-Http-Check-1
H="Host: $SITE"
B=http://127.0.0.1:8000
bench --site $SITE execute tuktuk_management.tests.http_role_check.setup > /tmp/ttk_http_setup.json 2>/tmp/ttk_http_setup.err || { cat /tmp/ttk_http_setup.err; exit 1; }
J=$(tail -1 /tmp/ttk_http_setup.json)
get() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$J" "$1"; }
OWN=$(get 'd["payouts"]["driver"]'); OTHER=$(get 'd["payouts"]["other_driver"]')
OWN_DRIVER=$(get 'd["drivers"]["driver"]'); OTHER_DRIVER=$(get 'd["drivers"]["other_driver"]')
TOKEN=$(get 'd["callback_token"]')
cd sites
../env/bin/gunicorn -b 127.0.0.1:8000 -w 2 -t 120 frappe.app:application > /tmp/gunicorn-ttk-http.log 2>&1 &
G=$!
for i in $(seq 60); do curl -s -o /dev/null $B/ && break; sleep 1; done
code() { curl -s -o /tmp/ttk_http_body.txt -w '%{http_code}' "$@"; }
login() { rm -f /tmp/ttk_http_cj.txt; curl -s -c /tmp/ttk_http_cj.txt -H "$H" -H 'Accept: application/json' -X POST $B/api/method/login -d usr="$1" -d pwd=$PW > /dev/null; }
names() { curl -s -b /tmp/ttk_http_cj.txt -H "$H" "$B/api/resource/$1?limit_page_length=1000&fields=%5B%22name%22%5D" | python3 -c "import json,sys; d=json.load(sys.stdin); print(sorted(r['name'] for r in d.get('data',[])) if 'data' in d else d.get('exc_type','?'))"; }
echo "own payout=$OWN other payout=$OTHER own driver=$OWN_DRIVER other driver=$OTHER_DRIVER"
for who in guest driver accountant manager; do
  if [ $who = guest ]; then rm -f /tmp/ttk_http_cj.txt; touch /tmp/ttk_http_cj.txt; else login "http-$([ $who = driver ] && echo driver || echo $who)@example.com"; fi
  echo "== $who"
  echo "  retry_payout own:   $(code -b /tmp/ttk_http_cj.txt -H "$H" -X POST $B/api/method/tuktuk_management.api.payouts.retry_payout -d payout=$OWN)"
  if [ $who != manager ]; then
    echo "  cancel_payout own:  $(code -b /tmp/ttk_http_cj.txt -H "$H" -X POST $B/api/method/tuktuk_management.api.payouts.cancel_payout -d payout=$OWN -d reason=test)"
  fi
  echo "  GET other payout:   $(code -b /tmp/ttk_http_cj.txt -H "$H" "$B/api/resource/TukTuk%20Payout/$OTHER")"
  echo "  GET other driver:   $(code -b /tmp/ttk_http_cj.txt -H "$H" "$B/api/resource/TukTuk%20Driver/$OTHER_DRIVER")"
  echo "  GET own payout:     $(code -b /tmp/ttk_http_cj.txt -H "$H" "$B/api/resource/TukTuk%20Payout/$OWN")"
  echo "  list drivers:       $(names 'TukTuk%20Driver' | tr -d '\n' | cut -c1-200)"
  echo "  list payouts:       $(names 'TukTuk%20Payout' | tr -d '\n' | cut -c1-120)"
  echo "  list transactions:  $(names 'TukTuk%20Transaction' | tr -d '\n' | cut -c1-120)"
  echo "  list callback log:  $(names 'TukTuk%20Callback%20Log' | tr -d '\n' | cut -c1-60)"
done
echo "== driver portal (/driver): HTTP code, shows own driver?, shows other driver?"
has() { grep -q "$1" /tmp/ttk_http_body.txt && echo yes || echo no; }
for who in guest driver manager; do
  if [ $who = guest ]; then rm -f /tmp/ttk_http_cj.txt; touch /tmp/ttk_http_cj.txt; else login "http-$who@example.com"; fi
  for query in "" "?driver=$OTHER_DRIVER" "?name=$OTHER_DRIVER&from_date=2020-01-01&to_date=2020-03-01"; do
    c=$(code -b /tmp/ttk_http_cj.txt -H "$H" "$B/driver$query")
    echo "  $who /driver$query: $c own=$(has "$OWN_DRIVER") other=$(has "$OTHER_DRIVER")"
  done
  echo "  $who list messages: $(names 'TukTuk%20Message' | tr -d '\n' | cut -c1-80)"
done
echo "== every whitelisted money method (POST, dummy args): HTTP code per caller"
for who in guest driver accountant manager; do
  if [ $who = guest ]; then rm -f /tmp/ttk_http_cj.txt; touch /tmp/ttk_http_cj.txt; else login "http-$who@example.com"; fi
  line="  $who:"
  while read -r method args; do
    data=""; for a in $args; do data="$data -d $a=does-not-exist"; done
    c=$(code -b /tmp/ttk_http_cj.txt -H "$H" -X POST "$B/api/method/$method" $data)
    line="$line ${method##*.}=$c"
  done < "$METHODS"
  echo "$line"
done
echo "== manager cancel (role passes)"
login http-manager@example.com
echo "  cancel_payout own:  $(code -b /tmp/ttk_http_cj.txt -H "$H" -X POST $B/api/method/tuktuk_management.api.payouts.cancel_payout -d payout=$OWN -d reason=http-check) $(cut -c1-160 /tmp/ttk_http_body.txt)"
echo "  retry body (no Daraja creds): $(cut -c1-200 /tmp/ttk_http_body.txt)"
echo "== forged callbacks"
BODY="{\"Result\":{\"ResultType\":0,\"ResultCode\":0,\"ResultDesc\":\"ok\",\"OriginatorConversationID\":\"TTK-$OTHER\",\"ConversationID\":\"AG_X\",\"TransactionID\":\"SFORGED01\",\"ResultParameters\":{\"ResultParameter\":[{\"Key\":\"TransactionReceipt\",\"Value\":\"SFORGED01\"}]}}}"
echo "  b2c.result no token:    $(code -H "$H" -H 'Content-Type: application/json' -X POST $B/api/method/tuktuk_management.api.b2c.result -d "$BODY") $(cat /tmp/ttk_http_body.txt)"
echo "  b2c.result wrong token: $(code -H "$H" -H 'Content-Type: application/json' -X POST "$B/api/method/tuktuk_management.api.b2c.result?token=wrong" -d "$BODY") $(cat /tmp/ttk_http_body.txt)"
echo "  b2c.timeout no token:   $(code -H "$H" -H 'Content-Type: application/json' -X POST $B/api/method/tuktuk_management.api.b2c.timeout -d "$BODY")"
C2B='{"TransactionType":"Pay Bill","TransID":"HTTPFORGE1","TransTime":"20261121121325","TransAmount":"100.00","BusinessShortCode":"600966","BillRefNumber":"HTTP-CHECK","InvoiceNumber":"","OrgAccountBalance":"","ThirdPartyTransID":"","MSISDN":"2547 ***** 126","FirstName":"X","MiddleName":"","LastName":""}'
echo "  c2b.confirmation wrong token: $(code -H "$H" -H 'Content-Type: application/json' -X POST "$B/api/method/tuktuk_management.api.c2b.confirmation?token=wrong" -d "$C2B")"
cd ..
bench --site $SITE mariadb -e "update tabSingles set value='10.9.9.0/24' where doctype='TukTuk Settings' and field='allowed_callback_ips'" 2>/dev/null
bench --site $SITE clear-cache >/dev/null 2>&1
cd sites
echo "  b2c.result right token, IP not allowed: $(code -H "$H" -H 'Content-Type: application/json' -X POST "$B/api/method/tuktuk_management.api.b2c.result?token=$TOKEN" -d "$BODY") $(cat /tmp/ttk_http_body.txt)"
cd ..
bench --site $SITE mariadb -e "update tabSingles set value='' where doctype='TukTuk Settings' and field='allowed_callback_ips'" 2>/dev/null
cd sites
echo "  b2c.result right token: $(code -H "$H" -H 'Content-Type: application/json' -X POST "$B/api/method/tuktuk_management.api.b2c.result?token=$TOKEN" -d "$BODY") $(cat /tmp/ttk_http_body.txt)"
cd ..
echo "== state after"
bench --site $SITE mariadb -e "select name, status, receipt from \`tabTukTuk Payout\` where name in ('$OWN','$OTHER'); select endpoint, status, left(error,60) from \`tabTukTuk Callback Log\` where creation > now() - interval 5 minute order by creation" 2>/dev/null
kill $G; wait $G 2>/dev/null
bench --site $SITE execute tuktuk_management.tests.http_role_check.teardown >/dev/null 2>&1
rm -f "$METHODS"
echo done
