/* LuaJSON: JSON straight onto the Lua stack and back, for kc.json and for the
 * bodies kc.request sends and receives.
 *
 * Written in C rather than Swift: the decoder pushes onto the Lua stack, and
 * any push can raise a memory error (a longjmp), which must never cross a
 * Swift frame; as lua_CFunctions run under lua_pcall, these can raise freely,
 * and plain C over the bytes keeps pace with lua-cjson.
 *
 * Mapping: objects -> tables; arrays -> tables with the array metatable (so
 * they re-encode as [] even when empty); null -> absent field in an object,
 * kc.null in an array (to keep positions); integers that fit int64 -> Lua
 * integers, other numbers -> floats. */
#ifndef KCSH_LUAJSON_H
#define KCSH_LUAJSON_H

#include <lua.h>
#include <stddef.h>

/* decode(s) -> value. Raises "invalid JSON: ..." on bad input. */
int kcjson_decode(lua_State *L);
/* decode_buffer(lightuserdata p, integer n) -> value: decodes n bytes at p
 * without copying them into a Lua string first (response bodies). */
int kcjson_decode_buffer(lua_State *L);
/* encode(v [, {pretty = true}]) -> string. Raises on NaN/inf, cycles,
 * functions and the like. Pretty: two-space indents, keys in byte order. */
int kcjson_encode(lua_State *L);
/* array(t) -> t, marked as a JSON array. */
int kcjson_mark_array(lua_State *L);

/* Pushes the null sentinel (a userdata printing as "kc.null"). */
void kcjson_push_null(lua_State *L);
/* Pushes the metatable that marks decoded arrays. */
void kcjson_push_array_mt(lua_State *L);
/* Pushes a table {decode, encode, array, null}. */
int kcjson_open(lua_State *L);

#endif
