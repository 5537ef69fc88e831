--[[
  wake.lua: does what is due now (FlowEngine.tick): expired leases are reclaimed (lease:expired,
  the token freed, the message back through flow control), then delayed and retrying messages
  become ready and rate windows reopen.
  ARGV[A…]  none
  Result    see batch.lua
]]
reclaimExpiredLeases()
