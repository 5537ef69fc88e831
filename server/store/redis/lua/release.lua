--[[
  release.lua: the calling server gives back starts it holds and will not run (it is stopping),
  each as if its lease had run out now (lease:expired: the token freed, the message back through
  flow control) rather than when it runs out. Run while it hands back (ARGV[7]), so none of it
  comes back to this server.
  ARGV[A…]  triples: message id, lease number, tried ('1': its delivery began and may have reached
            the destination, so it counts as an attempt, as an expired lease does; '0': it never
            began, and the message keeps its attempt number)
  Result    see batch.lua
]]
for i = A, A + N - 1, 3 do
  local m = getMsg(ARGV[i])
  if m ~= nil and m.st == 'in-flight' and m.sn == ARGV[i + 1] and m.own == OWNER then
    leaseExpired(m, ARGV[i + 2] == '1')
  end
end
