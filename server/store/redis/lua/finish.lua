--[[
  finish.lua: an attempt ended (FlowEngine.finish); its token is handed off or released, and the
  message is delivered, retried after its backoff, cancelled or dead-lettered.
  ARGV[A…]  id, lease number ('' to finish whatever attempt is in flight), ok ('1'|'0'), status
            ('' when none), has error ('1'|'0'), error, retryDelayMs ('' for the default backoff),
            non-retryable ('1'|'0')
  Result    see batch.lua; an error when the message is not in flight (or no longer under
            that lease: it expired and the message went on without this attempt).
]]
local id = ARGV[A]
local sn = ARGV[A + 1]
local m = getMsg(id)
if m == nil or m.st ~= 'in-flight' or (sn ~= '' and m.sn ~= sn) then
  return fail('message ' .. id .. ' is not in flight')
end
local ok = ARGV[A + 2] == '1'
local status = num(ARGV[A + 3])
local err
if ARGV[A + 4] == '1' then err = ARGV[A + 5] end
local retryDelay = num(ARGV[A + 6])
local nonRetryable = ARGV[A + 7] == '1'
local k = getKey(m.key)
k.inf = k.inf - 1
G.inf = G.inf - 1
activeDel(k, m)
m.own = ''
m.sn = ''
local durationMs = now - m.started
-- As the engine: the token moves first, the attempt's own events come out first with the seqs
-- they would have had.
local retry = (not ok) and (not nonRetryable) and (not m.cr) and m.att < m.max
local ownEvents = 2
if retry then ownEvents = 1 end
local seq0 = G.seq
G.seq = G.seq + ownEvents
local mark = #OUT
passToken(m)
local tokenEnd = #OUT
local seqAfter = G.seq
G.seq = seq0
if ok then
  emit({
    seq = 0, at = 0, type = 'delivery:succeeded', key = k.id,
    messageId = id, attempt = m.att, status = status,
    durationMs = durationMs,
  })
  settle(m, 'delivered')
else
  local retryAt = nil
  if retry then
    local n = m.att + 1
    retryAt = now + (retryDelay or BACKOFF[n] or MAX_BACKOFF)
  end
  emit({
    seq = 0, at = 0, type = 'delivery:failed', key = k.id,
    messageId = id, attempt = m.att, status = status,
    error = err, durationMs = durationMs, retryAt = nn(retryAt),
  })
  if retryAt ~= nil then
    m.att = m.att + 1
    schedule(m, retryAt)
    m.st = 'retry-scheduled'
  elseif m.cr then
    settle(m, 'cancelled')
  else
    local tries = m.att + 1
    local why
    if nonRetryable then
      why = 'non-retryable error'
    elseif tries == 1 then
      why = '1 attempt failed'
    else
      why = tries .. ' attempts failed'
    end
    local detail
    if status ~= nil then detail = 'status ' .. ARGV[A + 3] else detail = err or 'failed' end
    settle(m, 'dead', why .. ': ' .. detail)
  end
end
G.seq = seqAfter
-- moveToEnd: the token's events after the attempt's own.
if tokenEnd > mark and tokenEnd < #OUT then
  local moved = {}
  for i = mark + 1, tokenEnd do moved[#moved + 1] = OUT[i] end
  local j = mark
  for i = tokenEnd + 1, #OUT do
    j = j + 1
    OUT[j] = OUT[i]
  end
  for _, e in ipairs(moved) do
    j = j + 1
    OUT[j] = e
  end
end
