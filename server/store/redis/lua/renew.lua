--[[
  renew.lua: extends the leases the calling server holds, then reclaims expired ones (anyone's)
  and runs what is due, as wake.lua.
  ARGV[A…]  pairs of message id and lease number, for every delivery the server is running
  Result    see batch.lua
]]
local L = LEASES
for i = A, A + N - 1, 2 do
  local m = getMsg(ARGV[i])
  if m ~= nil and m.st == 'in-flight' and m.sn == ARGV[i + 1] and m.own == OWNER then
    redis.call('ZADD', L, 'XX', now + LEASE_MS, m.id)
  end
end
reclaimExpiredLeases()
