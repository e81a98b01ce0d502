-- wrk script: deferred chat completions of about 1 KB each, as the accept stage sends them, over
-- four models (four queues, as an app using several models has; none reaches a 50,000-request file
-- during a run, so the stage measures accepts, not flushes).
local text = string.rep("Summarise the customer's message and label its urgency. ", 16)
local headers = { ["Content-Type"] = "application/json", ["Prefer"] = "respond-async" }
local requests = {}
for i, model in ipairs({ "qwen-plus", "qwen-max", "qwen-turbo", "qwen-long" }) do
  local body = '{"model":"' .. model .. '","messages":[{"role":"system","content":"You are a careful support assistant."},'
    .. '{"role":"user","content":"' .. text .. '"}],"temperature":0.2,"max_tokens":200}'
  requests[i] = wrk.format("POST", nil, headers, body)
end
local next = 0
request = function()
  next = next % #requests + 1
  return requests[next]
end
