--[[
  forget-idle.lua: forgets the keys of one run of the key list that are idle for idleMs or more
  (FlowEngine.forgetIdleKeys): nothing waiting, in flight or scheduled, not paused, nothing pinned,
  its rate window over. The store walks the whole list a run at a time (redis-store.ts, keyRuns),
  so one call never holds Redis for long; the controller does it at most once a minute.
  ARGV[A…]  idleMs (validated by the caller); the run: the scores (creation order) it starts after
            and ends at, as ZRANGE BYSCORE takes them ('(12', '40')
  Result    see batch.lua
]]
local idleMs = tonumber(ARGV[A])
local ids = redis.call('ZRANGE', P .. 'keys', ARGV[A + 1], ARGV[A + 2], 'BYSCORE')
for _, id in ipairs(ids) do
  local k = getKey(id)
  if k ~= nil and k.inf == 0 and k.wsize == 0 and k.sched == 0 and not k.paused and not k.pp
    and not k.pr and now - k.last >= idleMs and now >= k.ws + k.period then
    dropWindowWake(k)
    if k.igq then redis.call('LREM', P .. 'gq', 1, id) end
    redis.call('DEL', P .. 'k:' .. id, P .. 'w:' .. id, P .. 'a:' .. id)
    redis.call('ZREM', P .. 'keys', id)
    KS[id] = false
    emitKeyForgotten(id)
  end
end
