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
if ok then
  -- The engine moves the token first and puts the attempt's own events first, with the seqs they
  -- would have had: nothing the token's move does depends on them, so here they simply come first.
  emitDeliverySucceeded(k.id, id, m.att, status, durationMs)
  settle(m, 'delivered')
  passToken(m)
  return
end
-- As the engine: the token moves first, the attempt's own events come out first with the seqs
-- they would have had (what passToken does, such as a wake-up it sets, comes before what the
-- attempt's end does, such as its retry's).
local retry = (not nonRetryable) and (not m.cr) and m.att < m.max
local ownEvents = 2
if retry then ownEvents = 1 end
local seq0 = G.seq
G.seq = G.seq + ownEvents
local mark = NOUT
passToken(m)
local tokenEnd = NOUT
local seqAfter = G.seq
G.seq = seq0
local retryAt = nil
if retry then
  local n = m.att + 1
  retryAt = now + (retryDelay or BACKOFF[n] or MAX_BACKOFF)
end
emitDeliveryFailed(k.id, id, m.att, status, err, durationMs, retryAt)
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
G.seq = seqAfter
-- moveToEnd: the token's events (values mark+1…tokenEnd of OUT) after the attempt's own.
if tokenEnd > mark and tokenEnd < NOUT then
  local moved = {}
  for i = mark + 1, tokenEnd do moved[i - mark] = OUT[i] end
  local j = mark
  for i = tokenEnd + 1, NOUT do
    j = j + 1
    OUT[j] = OUT[i]
  end
  for i = 1, tokenEnd - mark do OUT[j + i] = moved[i] end
end
