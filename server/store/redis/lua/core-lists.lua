-- core-lists.lua: rate windows, wake-ups and waitlists (see core-records.lua for the frame).

-- ── rate window (rate-window.ts, key-rules.ts) ────────────────────────────────────────────────

local function windowAt(start, period, count, t)
  if t < start + period then return start, count end
  local elapsed = math.floor((t - start) / period)
  return start + elapsed * period, 0
end

local function roll(k)
  if now >= k.ws + k.period then k.ws, k.rc = windowAt(k.ws, k.period, k.rc, now) end
end

local function dropWindowWake(k)
  if k.wm ~= '' then redis.call('ZREM', WAKE, k.wm) end
  k.wm = ''
  k.wt = 0
end

local function restartWindow(k)
  k.rc = 0
  k.ws = now
  dropWindowWake(k)
end

local function changePeriod(k, period)
  roll(k)
  k.period = period
  if now >= k.ws + period then restartWindow(k) end
end

-- ── wake-ups (wake-queue.ts) ──────────────────────────────────────────────────────────────────
-- Members are "<15-digit counter>|m|<message id>" or "…|w|<key>": same-instant wake-ups run in the
-- order they were set. Entries that no longer apply are removed at once, never left stale.
-- WAKE_AT is never later than the earliest wake-up (every wake-up added lowers it), so runDue
-- reads the set only when something may be due: once per call, not once per command.

local function wakeAdd(at, member)
  if WAKE_AT ~= nil and at < WAKE_AT then WAKE_AT = at end
  redis.call('ZADD', WAKE, at, member)
end

local function wakeMember(kind, id)
  return string.format('%015d', nextCtr()) .. '|' .. kind .. '|' .. id
end

local function setWindowWake(k, at)
  if k.wm ~= '' then redis.call('ZREM', WAKE, k.wm) end
  k.wt = at
  k.wm = wakeMember('w', k.id)
  wakeAdd(at, k.wm)
end

local function schedule(m, at)
  local k = getKey(m.key)
  k.sched = k.sched + 1
  m.ready = at
  m.wm = wakeMember('m', m.id)
  wakeAdd(at, m.wm)
end

-- ── waitlist (waitlist.ts) ────────────────────────────────────────────────────────────────────
-- A list of "<ticket>:<message id>"; an entry is live while its message waits with that ticket.
-- Cancelled waiters (and ones taken from the middle by the random policy, left as '') are dropped
-- when reached, so cancelling is O(1).

local function liveEntry(e)
  local c = string.find(e, ':', 1, true)
  if c == nil then return nil end
  local m = getMsg(string.sub(e, c + 1))
  if m ~= nil and m.st == 'waiting' and m.tk == string.sub(e, 1, c - 1) then return m end
  return nil
end

local function wlPush(k, m)
  m.passes = 0
  m.tk = ctrString()
  redis.call('RPUSH', k.wl, m.tk .. ':' .. m.id)
  k.wsize = k.wsize + 1
end

local function wlPeek(k)
  local L = k.wl
  while true do
    local e = redis.call('LINDEX', L, 0)
    if not e then return nil end
    local m = liveEntry(e)
    if m ~= nil then return m end
    redis.call('LPOP', L)
  end
end

-- Once nobody waits, what is left in the list is dropped entries: the list goes.
local function wlTaken(k, L)
  k.wsize = k.wsize - 1
  if k.wsize == 0 then redis.call('DEL', L) end
end

local function wlShift(k)
  local L = k.wl
  while true do
    local e = redis.call('LPOP', L)
    if not e then return nil end
    local m = liveEntry(e)
    if m ~= nil then
      wlTaken(k, L)
      return m
    end
  end
end

-- mulberry32, as shared/engine/random.ts (a state of one uint32, kept in the global record).
local function imul(a, b)
  local bl = b % 65536
  local bh = (b - bl) / 65536
  return (a * bl + ((a * bh) % 65536) * 65536) % U32
end

local function rngNext()
  local a = (G.rng + 0x6d2b79f5) % U32
  G.rng = a
  local t = a
  t = imul(bit.bxor(t, bit.rshift(t, 15)) % U32, bit.bor(t, 1) % U32)
  t = bit.bxor(t, (t + imul(bit.bxor(t, bit.rshift(t, 7)) % U32, bit.bor(t, 61) % U32)) % U32) % U32
  return (bit.bxor(t, bit.rshift(t, 14)) % U32) / U32
end

local function takeRandom(k)
  local head = wlPeek(k)
  if head == nil then return nil end
  if head.passes >= RANDOM_WINDOW then return wlShift(k) end
  local L = k.wl
  local live, msgs = {}, {}
  local i, chunk = 0, RANDOM_WINDOW * 2
  while #live < RANDOM_WINDOW do
    local es = redis.call('LRANGE', L, i, i + chunk - 1)
    if #es == 0 then break end
    for j, e in ipairs(es) do
      local m = liveEntry(e)
      if m ~= nil then
        live[#live + 1] = i + j - 1
        msgs[#msgs + 1] = m
        if #live >= RANDOM_WINDOW then break end
      end
    end
    i = i + chunk
  end
  local pick = math.floor(rngNext() * #live) + 1
  if pick == 1 then return wlShift(k) end
  for j = 1, pick - 1 do msgs[j].passes = msgs[j].passes + 1 end
  redis.call('LSET', L, live[pick], '')
  wlTaken(k, L)
  return msgs[pick]
end

local function takeWaiter(k)
  if POLICY == 'random' then return takeRandom(k) end
  return wlShift(k)
end
