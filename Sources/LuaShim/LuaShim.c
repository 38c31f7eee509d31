#include "LuaShim.h"
#include <signal.h>

static kcsh_dispatch_fn dispatch_fn;
static kcsh_resume_fn resume_fn;
static kcsh_release_fn release_fn;

/* Read right after the Swift call returns, on the same thread. */
static _Thread_local int argerror_index;
static _Thread_local int yield_count;

static const char *const FUNCTION_MT = "kcsh.function";
static const char *const CONTINUATION_MT = "kcsh.continuation";
static const char LAST_ERROR_KEY = 0;

void kcsh_install(kcsh_dispatch_fn d, kcsh_resume_fn r, kcsh_release_fn rel) {
  dispatch_fn = d;
  resume_fn = r;
  release_fn = rel;
}

void kcsh_set_argerror_index(int arg) { argerror_index = arg; }
void kcsh_set_yield_count(int n) { yield_count = n; }

static int box_gc(lua_State *L) {
  void **slot = (void **)lua_touserdata(L, 1);
  if (slot != NULL && *slot != NULL) {
    void *box = *slot;
    *slot = NULL; /* a resurrected userdata must not release twice */
    release_fn(box);
  }
  return 0;
}

static void push_box(lua_State *L, void *box, const char *tname) {
  void **slot = (void **)lua_newuserdatauv(L, sizeof(void *), 0);
  *slot = box;
  kcsh_newmetatable(L, tname);
  lua_setmetatable(L, -2);
}

static int finish(lua_State *L, int status);

static int continuation(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  int base = (int)ctx;
  void *box = *(void **)lua_touserdata(L, base);
  return finish(L, resume_fn(L, box, base));
}

/* Acts on what Swift returned, now that its frames are gone. */
static int finish(lua_State *L, int status) {
  switch (status) {
  case KCSH_RAISE:
    return lua_error(L);
  case KCSH_ARGERROR:
    return luaL_argerror(L, argerror_index, lua_tostring(L, -1));
  case KCSH_YIELD:
    return lua_yield(L, yield_count);
  case KCSH_YIELD_K: {
    int n = yield_count;
    int base = lua_absindex(L, -(n + 1));
    return lua_yieldk(L, n, (lua_KContext)base, continuation);
  }
  default:
    return status;
  }
}

static int trampoline(lua_State *L) {
  void *box = *(void **)lua_touserdata(L, lua_upvalueindex(1));
  return finish(L, dispatch_fn(L, box));
}

void kcsh_push_swift_function(lua_State *L, void *box) {
  push_box(L, box, FUNCTION_MT);
  lua_pushcclosure(L, trampoline, 1);
}

int kcsh_newmetatable(lua_State *L, const char *tname) {
  int created = luaL_newmetatable(L, tname);
  if (created) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  return created;
}

void kcsh_push_swift_object(lua_State *L, void *box, const char *tname) {
  push_box(L, box, tname);
}

void *kcsh_to_swift_object(lua_State *L, int idx, const char *tname) {
  void **slot = (void **)(tname ? luaL_testudata(L, idx, tname) : lua_touserdata(L, idx));
  return slot ? *slot : NULL;
}

void kcsh_push_continuation(lua_State *L, void *box) { push_box(L, box, CONTINUATION_MT); }

int kcsh_msghandler(lua_State *L) {
  /* Keep the original value for Swift callers that want the structure. */
  lua_pushvalue(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &LAST_ERROR_KEY);
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1; /* a __tostring'd object: no traceback, as lua.c does */
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

void kcsh_push_last_error(lua_State *L) { lua_rawgetp(L, LUA_REGISTRYINDEX, &LAST_ERROR_KEY); }

int kcsh_pcall_traceback(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, kcsh_msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return status;
}

static int gettable_k(lua_State *L) { /* t, k */
  lua_gettable(L, 1);
  return 1;
}
int kcsh_pgettable(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, gettable_k);
  lua_pushvalue(L, idx);
  lua_rotate(L, -3, -1); /* fn, t, k */
  return lua_pcall(L, 2, 1, 0);
}

static int settable_k(lua_State *L) { /* t, k, v */
  lua_settable(L, 1);
  return 0;
}
int kcsh_psettable(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, settable_k);
  lua_pushvalue(L, idx);
  lua_rotate(L, -4, 2); /* fn, t, k, v */
  return lua_pcall(L, 3, 0, 0);
}

static int tolstring_k(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}
int kcsh_ptolstring(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, tolstring_k);
  lua_pushvalue(L, idx);
  return lua_pcall(L, 1, 1, 0);
}

static int openlibs_k(lua_State *L) {
  luaL_openlibs(L);
  return 0;
}
int kcsh_popenlibs(lua_State *L) {
  lua_pushcfunction(L, openlibs_k);
  return lua_pcall(L, 0, 0, 0);
}

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

void kcsh_interrupt(lua_State *L) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  lua_sethook(L, interrupt_hook, flag, 1);
}

void kcsh_clear_interrupt(lua_State *L) { lua_sethook(L, NULL, 0, 0); }
