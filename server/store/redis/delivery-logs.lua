--[[
  QStash's logs shared on Redis (delivery-logs.ts): adds a batch's log entries once, then forgets
  the oldest entries while the logs are over their bytes or the oldest is over their age. The
  stream follower (stream-follower.ts) runs it as a function of its one script, before the
  message log's part (so a message's first entry copies its body before its end drops it); `lgs`'s seq says how far the logs have followed the event stream, and entries of
  events at or before it are skipped, so a batch sent twice changes nothing the second time.
  delivery-logs.ts also runs it alone, without entries, to forget what grew too old.

  A message's details are copied from its message log document (ml:<id>) by its first entry
  (lgd: 'd' or, when its body is redacted, 'r', then the document; lgb: the body, when it is at
  most the largest body shown and not redacted), and kept while entries point to them (lgc).

  KEYS[1]  the deployment's hash-tagged prefix
  ARGV[1]  first seq of the batch ('': no entries, only forget what is too old at ARGV[3])
  ARGV[2]  last seq of the batch
  ARGV[3]  now, ms (for ages; the batch's newest entry's time when that is later)
  ARGV[4]  max bytes   ARGV[5]  max age, ms (-1: none)   ARGV[6]  largest body shown, bytes
  ARGV[7]  the entries, JSON: per entry [seq of its event, state (C A E R D F X), message id,
           time (a string), detail (the error of E and F, the next delivery time of R, else '')]
           (one string, decoded at once: far cheaper than 5 arguments an entry)

  Returns { last applied seq, gap (1 when events before this batch were never applied) }.
]]
local P = KEYS[1]
local LOG, STATE, COUNTS, DOCS, BODIES = P .. 'lg', P .. 'lgs', P .. 'lgc', P .. 'lgd', P .. 'lgb'
-- What Redis holds besides the strings counted (keep in step with delivery-logs.ts): an entry's
-- place in the stream (its id, flags, time and state); a message's fields in the three hashes.
local ENTRY, INFO = 32, 260
local now = tonumber(ARGV[3])
local maxBytes, maxAge, maxBody = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local state = redis.call('HMGET', STATE, 'seq', 'n', 'bytes', 't0')
local last, n = tonumber(state[1] or '0'), tonumber(state[2] or '0')
local total, t0 = tonumber(state[3] or '0'), tonumber(state[4] or '')
local gap, changed, added = 0, false, 0

-- Whether the document asks for its body to be hidden: decoded only when it mentions redact.
local function redactsBody(doc)
  if not string.find(doc, '"redact"', 1, true) then return false end
  local ok, m = pcall(cjson.decode, doc)
  if not ok or type(m) ~= 'table' or type(m.payload) ~= 'table' then return false end
  local r = m.payload.redact
  return type(r) == 'table' and r.body == true
end

-- Copies a message's details from the message log; returns the bytes they count.
local function copyDetails(id)
  local ml = P .. 'ml:' .. id
  local doc = redis.call('HGET', ml, 'd') or ''
  local len = doc == '' and 0 or redis.call('HSTRLEN', ml, 'b')
  if len > 0 and redactsBody(doc) then
    redis.call('HSET', DOCS, id, 'r' .. doc)
  elseif len > 0 and len <= maxBody then
    redis.call('HSET', DOCS, id, 'd' .. doc)
    redis.call('HSET', BODIES, id, redis.call('HGET', ml, 'b'))
    return INFO + 1 + #doc + len
  else
    redis.call('HSET', DOCS, id, 'd' .. doc)
  end
  return INFO + 1 + #doc
end

if ARGV[1] ~= '' then
  local from, upTo = tonumber(ARGV[1]), tonumber(ARGV[2])
  -- Applied already, by a server that trimmed after it.
  if upTo <= last then return { last, 0 } end
  if from > last + 1 then gap = 1 end
  local refs, ids = {}, {}
  for _, entry in ipairs(cjson.decode(ARGV[7])) do
    if entry[1] > last then
      local id, at, detail = entry[3], entry[4], entry[5]
      redis.call('XADD', LOG, n .. '-1', 't', at, 's', entry[2], 'm', id, 'x', detail)
      n = n + 1
      added = added + 1
      total = total + ENTRY + #id + #detail
      local t = tonumber(at)
      if t > now then now = t end
      if t0 == nil then t0 = t end
      local r = refs[id]
      if r == nil then
        ids[#ids + 1] = id
        refs[id] = 1
      else
        refs[id] = r + 1
      end
    end
  end
  -- One count per message of the batch; the first of its entries copies its details.
  for _, id in ipairs(ids) do
    local r = refs[id]
    if redis.call('HINCRBY', COUNTS, id, r) == r then total = total + copyDetails(id) end
  end
  last = upTo
  changed = true
end

-- Retention: the oldest entries go first, while over the bytes or older than the age; a
-- message's details leave with its last entry. `t0`, the oldest entry's time, says whether any is
-- too old without reading it. Read first: as many as were added (over the bytes, about as many
-- go), else the oldest alone.
local oldest = maxAge >= 0 and now - maxAge or nil
if total > maxBytes or (oldest ~= nil and t0 ~= nil and t0 < oldest) then
  local chunk = total > maxBytes and math.min(added + 1, 256) or 1
  t0 = nil
  while t0 == nil do
    local entries = redis.call('XRANGE', LOG, '-', '+', 'COUNT', chunk)
    if #entries == 0 then break end
    local lastGone = nil
    for _, e in ipairs(entries) do
      -- Fields as written: t, s, m, x.
      local f = e[2]
      local t = tonumber(f[2])
      if total <= maxBytes and (oldest == nil or t >= oldest) then
        t0 = t
        break
      end
      local id = f[6]
      total = total - (ENTRY + #id + #f[8])
      if redis.call('HINCRBY', COUNTS, id, -1) <= 0 then
        local body = redis.call('HSTRLEN', BODIES, id)
        total = total - INFO - redis.call('HSTRLEN', DOCS, id) - body
        redis.call('HDEL', COUNTS, id)
        redis.call('HDEL', DOCS, id)
        if body > 0 then redis.call('HDEL', BODIES, id) end
      end
      lastGone = e[1]
    end
    if lastGone ~= nil then
      -- Everything up to the last forgotten entry (ids are `<n>-1`).
      redis.call('XTRIM', LOG, 'MINID', (tonumber(string.match(lastGone, '^%d+')) + 1) .. '-0')
    end
    if #entries < chunk then break end
    if chunk < 256 then chunk = chunk * 8 end
  end
  changed = true
end
if changed then redis.call('HSET', STATE, 'seq', last, 'n', n, 'bytes', total, 't0', t0 or '') end
return { last, gap }
