-- Hematite's Lua sandbox, run once per Lua state (chunk name "=hematite").
--
-- Stock Lua 5.1 has no read-only tables, so scripts see the globals through
-- a view: an empty table whose __index reads the real globals (failing for
-- a name that does not exist) and whose __newindex always fails. Library
-- tables (string, math, redis, cjson ...) are seen through read-only views
-- of the same kind. rawset, load, loadstring, getfenv and pcall are wrapped
-- so that they cannot reach around the view, and the error handler turns
-- any error into Redis's {err=..., source=..., line=...} table.

local bridge, G = ...
local error, type, tostring, rawget, rawset, setmetatable = error, type, tostring, rawget, rawset, setmetatable
local tonumber, ipairs, pairs, math, table, string = tonumber, ipairs, pairs, math, table, string
local select, getfenv, setfenv, loadstring, load = select, getfenv, setfenv, loadstring, load
-- Stock pcall and xpcall with room for their status (see engine.rs).
local pcall, xpcall = bridge.base_pcall, bridge.base_xpcall
local getinfo = debug.getinfo
-- Long brackets read as Redis's Lua reads them (lstr.rs).
local unnest = bridge.unnest

local protected = setmetatable({}, { __mode = "k" })

local function readonly_error()
    error("Attempt to modify a readonly table", 2)
end

local function view_of(t)
    local v = {}
    protected[v] = true
    setmetatable(v, { __index = t, __newindex = readonly_error, __metatable = false })
    return v
end

local views = {}
for _, name in ipairs({ "string", "math", "table", "coroutine", "redis", "cjson", "bit", "struct", "cmsgpack" }) do
    if rawget(G, name) ~= nil then
        views[name] = view_of(rawget(G, name))
    end
end

-- Strings index the read-only view of `string`, and their metatable is
-- itself only reachable through a read-only view.
local string_mt = getmetatable("")
string_mt.__index = views.string
string_mt.__metatable = view_of(string_mt)
rawset(G, "newproxy", nil)

local function lookup(k)
    local v = views[k]
    if v ~= nil then
        return v
    end
    v = rawget(G, k)
    if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
    end
    return v
end

-- What scripts read as globals: the views of the libraries and the other
-- globals, copied once by bridge.seal (the globals do not change after
-- that), plus KEYS and ARGV, which each EVAL sets here. A global read is
-- then a plain table lookup; a name that is not there raises Redis's error.
local scope = setmetatable({}, {
    __index = function(_, k)
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end,
    __metatable = false,
})
bridge.scope = scope
bridge.seal = function()
    for k, v in pairs(G) do
        scope[k] = v
    end
    for k, v in pairs(views) do
        scope[k] = v
    end
end
local env = {}
protected[env] = true
setmetatable(env, { __index = scope, __newindex = readonly_error, __metatable = false })

-- Function libraries run in their own view: while FUNCTION LOAD runs their
-- top level, only the load API (bridge.load_api) is visible.
local fenv = {}
protected[fenv] = true
setmetatable(fenv, {
    __index = function(_, k)
        local api = bridge.load_api
        if api then
            local v = api[k]
            if v == nil then
                error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
            end
            return v
        end
        local v = lookup(k)
        return v
    end,
    __newindex = readonly_error,
    __metatable = false,
})
bridge.fenv = fenv

rawset(G, "_G", env)
-- Redis's Lua marks the globals, their metatable and the libraries
-- read-only: setmetatable on any of them fails (without a position), and
-- getmetatable(_G) is a read-only table (its __index raises the
-- nonexistent-global error) while the libraries have none. The views'
-- real metatables stay hidden.
local shown_meta = {}
shown_meta[env] = view_of({
    __index = function(_, k)
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end,
})
shown_meta[fenv] = shown_meta[env]
local getmetatable = getmetatable
-- Argument errors are raised at the script's line, naming the function,
-- as the C functions raise them.
rawset(G, "setmetatable", function(...)
    if protected[(...)] then
        error("Attempt to modify a readonly table", 0)
    end
    local ok, r = pcall(setmetatable, ...)
    if not ok then
        error((string.gsub(r, "to '%?'", "to 'setmetatable'", 1)), 2)
    end
    return r
end)
rawset(G, "getmetatable", function(...)
    if select("#", ...) == 0 then
        error("bad argument #1 to 'getmetatable' (value expected)", 2)
    end
    local t = ...
    if protected[t] then
        return shown_meta[t]
    end
    local r = getmetatable(t)
    return r
end)
rawset(G, "rawset", function(t, k, v)
    if protected[t] then
        error("Attempt to modify a readonly table", 0)
    end
    return rawset(t, k, v)
end)
-- Precompiled (binary) chunks are refused, as Redis's Lua refuses them:
-- crafted bytecode can escape the sandbox.
local byte, concat = string.byte, table.concat
local function binary(s)
    return type(s) == "string" and byte(s, 1) == 27
end
rawset(G, "loadstring", function(s, name)
    if binary(s) then
        return nil, "attempt to load a binary chunk"
    end
    if type(s) == "string" then
        -- The chunk keeps its own text as its name (Lua's default).
        name = name or s
        s = unnest(s)
    end
    local f, e = loadstring(s, name)
    if f then
        setfenv(f, env)
    end
    return f, e
end)
rawset(G, "load", function(fn, name)
    -- The pieces are gathered first, so the first byte can be checked.
    if type(fn) ~= "function" then
        local f, e = load(fn, name)
        return f, e
    end
    local parts = {}
    while true do
        local p = fn()
        if p == nil or p == "" then
            break
        end
        parts[#parts + 1] = p
    end
    local code = concat(parts)
    if binary(code) then
        return nil, "attempt to load a binary chunk"
    end
    code = unnest(code)
    local f, e = load(function()
        local c = code
        code = nil
        return c
    end, name)
    if f then
        setfenv(f, env)
    end
    return f, e
end)
rawset(G, "getfenv", function(f)
    if f == nil then
        f = 1
    end
    if type(f) == "number" and f > 0 then
        f = f + 1
    end
    local e = getfenv(f)
    if e == G then
        return env
    end
    return e
end)

-- Redis 7 raises error tables from redis.call; its pcall hands scripts the
-- message string instead, as older versions did.
-- After SCRIPT KILL, errors are re-raised so no pcall can keep the script
-- alive.
local killed = bridge.killed
local function pcall_result(ok, ...)
    if ok then
        return ok, ...
    end
    local e = ...
    if killed() then
        error(e, 0)
    end
    if type(e) == "table" then
        local m = rawget(e, "err")
        if type(m) == "string" or type(m) == "number" then
            return false, m
        end
    end
    return false, e
end
rawset(G, "pcall", function(f, ...)
    return pcall_result(pcall(f, ...))
end)
local function xpcall_result(ok, ...)
    if not ok and killed() then
        error((...), 0)
    end
    return ok, ...
end
rawset(G, "xpcall", function(f, h)
    return xpcall_result(xpcall(f, h))
end)

local redis = rawget(G, "redis")

-- The raising API functions (redis.call, setresp, log ...) are C
-- trampolines, so that a script's `return redis.call(...)` keeps its frame
-- for error positions; they call these implementations, which return
-- true and a value, or false and an error table that the trampoline raises.
local impl = {}
bridge.impl = impl
local function failure(msg)
    return false, { err = "ERR " .. msg }
end

-- redis.call and redis.pcall are C functions of their own (they read
-- their arguments straight from the stack).
redis.call = bridge.c_call
redis.pcall = bridge.c_pcall
redis.setresp = bridge.c_setresp
redis.sha1hex = bridge.c_sha1hex
redis.set_repl = bridge.c_set_repl
redis.log = bridge.c_log
redis.acl_check_cmd = function(...)
    if select("#", ...) == 0 then
        error({ err = "ERR Please specify at least one argument for this redis lib call" })
    end
    local ok, allowed = bridge.acl_check(...)
    if not ok then
        error({ err = "ERR Invalid command passed to redis.acl_check_cmd()" })
    end
    return allowed
end
impl.sha1hex = function(...)
    if select("#", ...) ~= 1 then
        return failure("wrong number of arguments")
    end
    return true, bridge.sha1(...)
end
impl.setresp = function(...)
    if select("#", ...) ~= 1 then
        return failure("redis.setresp() requires one argument.")
    end
    local n = tonumber((...))
    if n ~= 2 and n ~= 3 then
        return failure("RESP version must be 2 or 3.")
    end
    bridge.set_resp(n)
    return true
end
-- Replies built like redis.call's: an error text "-CODE msg" or "msg".
local function error_table(s)
    if s:sub(1, 1) ~= "-" then
        return { err = "ERR " .. s:gsub("[\r\n]+$", "") }
    end
    local sp = s:find(" ", 1, true)
    local code, msg
    if sp then
        code, msg = s:sub(2, sp - 1), s:sub(sp + 1)
    else
        code, msg = "ERR", s:sub(2)
    end
    msg = msg:gsub("^[\r\n]+", ""):gsub("[\r\n]+$", "")
    return { err = code .. " " .. msg }
end
redis.error_reply = function(...)
    local s = ...
    if select("#", ...) ~= 1 or type(s) ~= "string" then
        return error_table("wrong number or type of arguments")
    end
    if s:sub(1, 1) ~= "-" then
        s = "-" .. s
    end
    return error_table(s)
end
redis.status_reply = function(...)
    local s = ...
    if select("#", ...) ~= 1 or type(s) ~= "string" then
        return error_table("wrong number or type of arguments")
    end
    return { ok = s }
end
impl.set_repl = function(...)
    if not bridge.in_run() then
        return failure("redis.set_repl can only be called inside a script invocation")
    end
    if select("#", ...) ~= 1 then
        return failure("redis.set_repl() requires two arguments.")
    end
    local n = tonumber((...)) or 0
    if n ~= math.floor(n) or n < 0 or n > 3 then
        return failure("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
    end
    bridge.repl_target(n)
    return true
end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.replicate_commands = function()
    return true
end
redis.breakpoint = function()
    return false
end
redis.debug = function() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
local log = bridge.log
impl.log = function(...)
    local argc = select("#", ...)
    if argc < 2 then
        return failure("redis.log() requires two arguments or more.")
    end
    local level = ...
    if type(level) ~= "number" and not tonumber(level) then
        return failure("First argument must be a number (log level).")
    end
    level = tonumber(level)
    if level < 0 or level > 3 then
        return failure("Invalid debug level.")
    end
    local parts = {}
    for i = 2, argc do
        local v = select(i, ...)
        if type(v) == "string" or type(v) == "number" then
            parts[#parts + 1] = tostring(v)
        end
    end
    log(level, table.concat(parts, " "))
    return true
end

-- Reports the first frame that is neither C nor ours, as Redis reports the
-- caller of the failing C function.
local function handler(err)
    local level, info = 2, nil
    while true do
        info = getinfo(level, "Sl")
        if not info or (info.what ~= "C" and info.source ~= "=hematite") then
            break
        end
        level = level + 1
    end
    if type(err) ~= "table" then
        err = { err = "ERR " .. tostring(err) }
    end
    if info then
        err["source"] = info.source
        err["line"] = info.currentline
    end
    return err
end

-- redis.register_function's argument checks; bridge.register (bound during
-- FUNCTION LOAD) validates names and records the function.
impl.register = function(...)
    local n = select("#", ...)
    if n < 1 or n > 2 then
        return failure("wrong number of arguments to redis.register_function")
    end
    local name, cb, desc, flags
    if n == 1 then
        local t = ...
        if type(t) ~= "table" then
            return failure("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
        end
        for k, v in pairs(t) do
            if type(k) ~= "string" and type(k) ~= "number" then
                return failure("named argument key given to redis.register_function is not a string")
            end
            local key = string.lower(tostring(k))
            if key == "function_name" then
                if type(v) ~= "string" and type(v) ~= "number" then
                    return failure("function_name argument given to redis.register_function must be a string")
                end
                name = tostring(v)
            elseif key == "description" then
                if type(v) ~= "string" and type(v) ~= "number" then
                    return failure("description argument given to redis.register_function must be a string")
                end
                desc = tostring(v)
            elseif key == "callback" then
                if type(v) ~= "function" then
                    return failure("callback argument given to redis.register_function must be a function")
                end
                cb = v
            elseif key == "flags" then
                if type(v) ~= "table" then
                    return failure("flags argument to redis.register_function must be a table representing function flags")
                end
                flags = {}
                local i = 1
                while v[i] ~= nil do
                    if type(v[i]) ~= "string" and type(v[i]) ~= "number" then
                        return failure("unknown flag given")
                    end
                    flags[i] = tostring(v[i])
                    i = i + 1
                end
            else
                return failure("unknown argument given to redis.register_function")
            end
        end
        if not name then
            return failure("redis.register_function must get a function name argument")
        end
        if not cb then
            return failure("redis.register_function must get a callback argument")
        end
    else
        local a, b = ...
        if type(a) ~= "string" and type(a) ~= "number" then
            return failure("first argument to redis.register_function must be a string")
        end
        if type(b) ~= "function" then
            return failure("second argument to redis.register_function must be a function")
        end
        name, cb = tostring(a), b
    end
    local r = bridge.register
    if not r then
        return failure("redis.register_function can only be called on FUNCTION LOAD command")
    end
    local e = r(name, cb, desc, flags or {})
    if e then
        return failure(e)
    end
    return true
end
local function strict_view_of(t)
    local v = {}
    protected[v] = true
    setmetatable(v, {
        __index = function(_, k)
            local x = t[k]
            if x == nil then
                error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
            end
            return x
        end,
        __newindex = readonly_error,
        __metatable = false,
    })
    return v
end
bridge.load_run = function(f)
    return pcall(f)
end
bridge.load_api_table = {
    redis = strict_view_of({
        register_function = bridge.c_register,
        log = redis.log,
        LOG_DEBUG = redis.LOG_DEBUG,
        LOG_VERBOSE = redis.LOG_VERBOSE,
        LOG_NOTICE = redis.LOG_NOTICE,
        LOG_WARNING = redis.LOG_WARNING,
        REDIS_VERSION = redis.REDIS_VERSION,
        REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
    }),
}

bridge.env = env
bridge.run = function(f, with_args, keys, args)
    if with_args then
        return xpcall(function()
            return f(keys, args)
        end, handler)
    end
    return xpcall(f, handler)
end
