#include "LuaShim.h"
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static kcsh_dispatch_fn dispatch_fn;
static kcsh_resume_fn resume_fn;
static kcsh_release_fn release_fn;

/* Read right after the Swift call returns, on the same OS thread, before any
 * other Lua code can run: a thread-local is enough (no per-state slot). */
static _Thread_local int argerror_index;
static _Thread_local int yield_count;

/* 1 while Swift frames sit between the running code and the nearest
 * protected call: while a Swift function (or a Swift deinit run by __gc)
 * runs, until it makes a protected call of its own. An allocation failing
 * then would make Lua raise "not enough memory" and longjmp over those
 * frames, so the guarded allocator stops the process instead. Elsewhere the
 * error is raised as usual and a script can catch it, as under lua5.4. */
static _Thread_local int in_swift;

/* lua_pcall with in_swift cleared: errors inside are caught by this call. */
static int protected_call(lua_State *L, int nargs, int nresults, int msgh) {
  int saved = in_swift;
  in_swift = 0;
  int status = lua_pcall(L, nargs, nresults, msgh);
  in_swift = saved;
  return status;
}

static const char *const FUNCTION_MT = "kcsh.function";
static const char *const CONTINUATION_MT = "kcsh.continuation";
static const char LAST_ERROR_KEY = 0;
static const char RAISED_NIL = 0; /* stands for nil in the LAST_ERROR_KEY slot */
static const char BOX_METATABLE = 0; /* key marking the metatables of box userdata */

/* A box userdata: a Swift object retained by Lua. The magic number lets __gc
 * and the trampoline refuse a foreign userdata (getmetatable(obj).__gc(io.stdout)
 * from a script, or an upvalue replaced through the debug library). */
#define BOX_MAGIC ((uintptr_t)0x6b6373685f626f78u) /* "kcsh_box" */
typedef struct {
  uintptr_t magic;
  void *box;
} kcsh_box;

void kcsh_install(kcsh_dispatch_fn d, kcsh_resume_fn r, kcsh_release_fn rel) {
  dispatch_fn = d;
  resume_fn = r;
  release_fn = rel;
}

void kcsh_set_argerror_index(int arg) { argerror_index = arg; }
void kcsh_set_yield_count(int n) { yield_count = n; }

/* The box slot of the value at idx, or NULL when it is not a box userdata. */
static kcsh_box *to_box(lua_State *L, int idx) {
  kcsh_box *b = (kcsh_box *)lua_touserdata(L, idx);
  if (b == NULL || lua_type(L, idx) != LUA_TUSERDATA || lua_rawlen(L, idx) != sizeof(kcsh_box) ||
      b->magic != BOX_MAGIC)
    return NULL;
  return b;
}

static int box_gc(lua_State *L) {
  kcsh_box *b = to_box(L, 1);
  if (b != NULL && b->box != NULL) {
    void *box = b->box;
    b->box = NULL; /* a resurrected or twice-finalized userdata must not release twice */
    int saved = in_swift;
    in_swift = 1; /* a deinit may use the Lua API */
    release_fn(box);
    in_swift = saved;
  }
  return 0;
}

/* Returns 0, pushing nothing, when tname names a metatable that is not a box
 * metatable (such as "FILE*"): a box must never pass luaL_checkudata there. */
static int push_box(lua_State *L, void *box, const char *tname) {
  if (kcsh_newmetatable(L, tname) < 0) {
    lua_pop(L, 1);
    return 0;
  }
  kcsh_box *b = (kcsh_box *)lua_newuserdatauv(L, sizeof(kcsh_box), 0);
  b->magic = BOX_MAGIC;
  b->box = box;
  lua_insert(L, -2);
  lua_setmetatable(L, -2);
  return 1;
}

static int finish(lua_State *L, int status);

static int continuation(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  int base = (int)ctx;
  kcsh_box *b = to_box(L, base);
  if (b == NULL || b->box == NULL) return luaL_error(L, "Swift continuation was released");
  int saved = in_swift;
  in_swift = 1;
  int result = resume_fn(L, b->box, base);
  in_swift = saved;
  return finish(L, result);
}

/* Acts on what Swift returned, now that its frames are gone. */
static int finish(lua_State *L, int status) {
  switch (status) {
  case KCSH_RAISE:
    return lua_error(L);
  case KCSH_ARGERROR:
    return luaL_argerror(L, argerror_index, lua_tostring(L, -1));
  case KCSH_YIELD:
    if (yield_count < 0 || yield_count > lua_gettop(L))
      return luaL_error(L, "Swift function yields %d values but pushed %d", yield_count, lua_gettop(L));
    return lua_yield(L, yield_count);
  case KCSH_YIELD_K: {
    int n = yield_count;
    if (n < 0 || n + 1 > lua_gettop(L)) /* the values and the continuation box */
      return luaL_error(L, "Swift function yields %d values but pushed %d", n, lua_gettop(L) - 1);
    int base = lua_absindex(L, -(n + 1));
    return lua_yieldk(L, n, (lua_KContext)base, continuation);
  }
  default:
    /* Returning more values than the frame holds would copy from below the
     * function's slot, past the stack's start for a function at its bottom.
     * One value is always safe (at worst the function itself), so the common
     * case skips the call: it costs several percent of a call. */
    if (status > 1 && status > lua_gettop(L))
      return luaL_error(L, "Swift function returned %d results but pushed %d", status, lua_gettop(L));
    if (status < 0) return luaL_error(L, "Swift function returned an unknown status %d", status);
    return status;
  }
}

static int trampoline(lua_State *L) {
  kcsh_box *b = (kcsh_box *)lua_touserdata(L, lua_upvalueindex(1));
  /* Cheap checks (no further call, as this runs on every call): the upvalue
   * is ours unless a script ran its __gc by hand (box NULL) or replaced it
   * through the debug library (magic differs). A light userdata, or one
   * smaller than a box, put there with debug.setupvalue could still be read
   * past its end: like Lua's own guarantees, this one assumes debug is not
   * turned against it. */
  if (b == NULL || b->magic != BOX_MAGIC || b->box == NULL)
    return luaL_error(L, "Swift function was released");
  int saved = in_swift;
  in_swift = 1;
  int status = dispatch_fn(L, b->box);
  in_swift = saved;
  return finish(L, status);
}

void kcsh_push_swift_function(lua_State *L, void *box) {
  push_box(L, box, FUNCTION_MT);
  lua_pushcclosure(L, trampoline, 1);
}

int kcsh_newmetatable(lua_State *L, const char *tname) {
  if (!luaL_newmetatable(L, tname)) {
    int ours = lua_rawgetp(L, -1, &BOX_METATABLE) != LUA_TNIL;
    lua_pop(L, 1);
    return ours ? 0 : -1;
  }
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, &BOX_METATABLE);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  return 1;
}

int kcsh_push_swift_object(lua_State *L, void *box, const char *tname) {
  return push_box(L, box, tname);
}

void *kcsh_to_swift_object(lua_State *L, int idx, const char *tname) {
  if (tname != NULL && luaL_testudata(L, idx, tname) == NULL) return NULL;
  kcsh_box *b = to_box(L, idx);
  return b ? b->box : NULL;
}

void kcsh_push_continuation(lua_State *L, void *box) { push_box(L, box, CONTINUATION_MT); }

void kcsh_restore_gc(lua_State *L) {
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
}

/* The message handler kcsh_pcall_traceback uses (lua.c's semantics: a string,
 * or __tostring, or "(error object is a %s value)", then the traceback). The
 * original error value is kept and can be fetched with kcsh_push_last_error. */
static int msghandler(lua_State *L) {
  /* Keep the original value for Swift callers that want the structure. */
  if (lua_isnil(L, 1))
    lua_pushlightuserdata(L, (void *)&RAISED_NIL);
  else
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

int kcsh_push_last_error(lua_State *L) {
  int kept = lua_rawgetp(L, LUA_REGISTRYINDEX, &LAST_ERROR_KEY) != LUA_TNIL;
  if (lua_touserdata(L, -1) == (void *)&RAISED_NIL) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  /* Cleared, so the value is not kept alive and a later error that skipped
   * the handler (out of memory) is not mistaken for this one. */
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &LAST_ERROR_KEY);
  return kept;
}

int kcsh_pcall(lua_State *L, int nargs, int nresults, int msgh) {
  return protected_call(L, nargs, nresults, msgh);
}

int kcsh_pcall_traceback(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = protected_call(L, nargs, nresults, base);
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
  return protected_call(L, 2, 1, 0);
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
  return protected_call(L, 3, 0, 0);
}

static int tolstring_k(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}
int kcsh_ptolstring(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, tolstring_k);
  lua_pushvalue(L, idx);
  return protected_call(L, 1, 1, 0);
}

static int next_k(lua_State *L) { /* t, k */
  return lua_next(L, 1) ? 2 : 0; /* none: the call pads nil, nil */
}
int kcsh_pnext(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, next_k);
  lua_pushvalue(L, idx);
  lua_rotate(L, -3, -1); /* fn, t, k */
  return protected_call(L, 2, 2, 0);
}

static int openlibs_k(lua_State *L) {
  luaL_openlibs(L);
  return 0;
}
int kcsh_popenlibs(lua_State *L) {
  lua_pushcfunction(L, openlibs_k);
  return protected_call(L, 0, 0, 0);
}

int kcsh_resume(lua_State *L, lua_State *from, int nargs, int *nresults) {
  int saved = in_swift;
  in_swift = 0;
  int status = lua_resume(L, from, nargs, nresults);
  in_swift = saved;
  return status;
}

typedef struct {
  lua_Alloc f;
  void *ud;
} guarded_alloc;

static void *guarded(void *ud, void *ptr, size_t osize, size_t nsize) {
  guarded_alloc *g = (guarded_alloc *)ud;
  void *p = g->f(g->ud, ptr, osize, nsize);
  if (p == NULL && nsize > 0 && in_swift) {
    fputs("kcsh: not enough memory (in a Swift function; Lua cannot raise there)\n", stderr);
    abort();
  }
  return p;
}

int kcsh_guard_allocator(lua_State *L) {
  guarded_alloc *g = (guarded_alloc *)malloc(sizeof *g);
  if (g == NULL) return 0;
  g->f = lua_getallocf(L, &g->ud);
  lua_setallocf(L, guarded, g);
  return 1;
}

void kcsh_close(lua_State *L) {
  void *ud;
  lua_Alloc f = lua_getallocf(L, &ud);
  int saved = in_swift;
  in_swift = 0; /* finalizers run protected; their deinits guard themselves */
  lua_close(L);
  in_swift = saved;
  if (f == guarded) free(ud);
}

int kcsh_gc(lua_State *L, int what, int arg) { return lua_gc(L, what, arg); }

void kcsh_gc_generational(lua_State *L) { lua_gc(L, LUA_GCGEN, 0, 0); }

/* Ctrl-C in Lua. A hook is per Lua thread, so the watcher arms lua.c's hook
 * on the main thread and on each coroutine being resumed through
 * kcsh_enter_thread (kc.parallel's tasks): a busy loop in one of those
 * stops too. Nothing is hooked until a Ctrl-C (any hook makes Lua 5.4's
 * interpreter take its slow path on every instruction). */
#define MAX_RUNNING 64
static lua_State *volatile running[MAX_RUNNING];
static volatile sig_atomic_t nrunning = 0;

static void interrupt_hook(lua_State *L, lua_Debug *ar);

static lua_State *main_thread(lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State *main = lua_tothread(L, -1);
  lua_pop(L, 1);
  return main;
}

static void disarm(lua_State *L) {
  if (L != NULL && lua_gethook(L) == interrupt_hook) lua_sethook(L, NULL, 0, 0);
}

/* Every armed thread, so that the error raised in one is not raised again
 * in another (a task's, then its scheduler's). */
static void disarm_all(lua_State *L) {
  disarm(L);
  disarm(main_thread(L));
  int n = nrunning < MAX_RUNNING ? nrunning : MAX_RUNNING;
  for (int i = 0; i < n; i++) disarm(running[i]);
}

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  disarm_all(L);
  luaL_error(L, "interrupted!");
}

void kcsh_interrupt(lua_State *L) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  lua_sethook(L, interrupt_hook, flag, 1);
}

void kcsh_interrupt_watcher(void *L) {
  kcsh_interrupt((lua_State *)L);
  int n = nrunning < MAX_RUNNING ? nrunning : MAX_RUNNING;
  for (int i = 0; i < n; i++) kcsh_interrupt(running[i]);
}

void kcsh_clear_interrupt(lua_State *L) { disarm_all(L); }

void kcsh_enter_thread(lua_State *L, int idx) {
  if (nrunning < MAX_RUNNING) running[nrunning] = lua_tothread(L, idx);
  nrunning = nrunning + 1; /* published after the slot: the handler reads it */
}

void kcsh_leave_thread(void) {
  if (nrunning > 0) nrunning = nrunning - 1;
}
