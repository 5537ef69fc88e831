--[[
  unpin.lua: clears pin flags; the key keeps its values until a message brings others.
  ARGV[A…]  key, unpin parallelism ('1'|'0'), unpin rate ('1'|'0')
  Result    see batch.lua
]]
local k = commandedKey(ARGV[A])
if ARGV[A + 1] == '1' then k.pp = false end
if ARGV[A + 2] == '1' then k.pr = false end
configured(k, 'unpin')
