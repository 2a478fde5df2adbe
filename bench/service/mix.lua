-- Mixed traffic for bench/service/scale.py: a new body per request (principal, tenant, session vary).
local n = 0
local offset = tonumber(os.getenv("CELGATE_BENCH_OFFSET") or "0")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local i = n + offset
  local who = string.format('"principal":{"id":"u-%d","roles":["user"],"tenant":"t-%d"},"session":{"id":"s-%d"}',
                            i % 5000, i % 100, i % 2000)
  local kind = i % 20
  local body
  if kind < 9 then
    body = '{"action":"prompt",' .. who .. ',"messages":[{"role":"system","content":"You are a helpful assistant for ACME Corp."},' ..
           '{"role":"user","content":"Summarise the differences between the Basic and Pro plans, please (' .. i .. ')."}]}'
  elseif kind < 18 then
    body = '{"action":"tool_call",' .. who .. ',"tool":{"name":"search_docs","args":{"q":"pro plan pricing ' .. i .. '","limit":5}}}'
  else
    body = '{"action":"tool_call",' .. who .. ',"tool":{"name":"transfer_funds","args":{"amount":2500,"to":"acct-' .. (i % 997) .. '","memo":"invoice ' .. i .. '"}}}'
  end
  return wrk.format(nil, nil, nil, body)
end
