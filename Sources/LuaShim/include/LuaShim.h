/* LuaShim: the only C in kcsh's bridge. Swift never calls lua_error or lua_yield
 * (both longjmp); a Swift function returns a status to kcsh_trampoline, which
 * raises or yields after the Swift frames are gone. Macros of the Lua API that
 * Swift cannot import are wrapped here as static inline functions. */
#ifndef KCSH_LUASHIM_H
#define KCSH_LUASHIM_H

#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <limits.h>
#include <stddef.h>

/* What a Swift function tells the trampoline (besides n >= 0 results). Far
 * from small negative numbers, so that a bad count such as .results(-1)
 * (LUA_MULTRET) is reported as an unknown status, not taken for one. */
enum {
  KCSH_RAISE = INT_MIN,          /* raise the value on top of the stack */
  KCSH_ARGERROR = INT_MIN + 1,   /* luaL_argerror(kcsh_argerror_index, message on top) */
  KCSH_YIELD = INT_MIN + 2,      /* yield kcsh_yield_count values from the top */
  KCSH_YIELD_K = INT_MIN + 3,    /* same, with a continuation box just below them */
};

/* Swift side of the bridge: set once per process by LuaKit. */
typedef int (*kcsh_dispatch_fn)(lua_State *L, void *box);
typedef int (*kcsh_resume_fn)(lua_State *L, void *box, int base);
typedef void (*kcsh_release_fn)(void *box);
void kcsh_install(kcsh_dispatch_fn dispatch, kcsh_resume_fn resume,
                  kcsh_release_fn release);

/* Side channel for the statuses that need a number (thread-local: the
 * trampoline reads them as soon as the Swift function returns). */
void kcsh_set_argerror_index(int arg);
void kcsh_set_yield_count(int n);

/* Pushes a C closure that calls the Swift callable `box` (already retained;
 * released by __gc of its userdata). The trampoline raises an error if the
 * function returns more results than its stack holds. */
void kcsh_push_swift_function(lua_State *L, void *box);
/* Pushes (creating on first use) the metatable `tname` for Swift objects, with
 * a __gc that releases their box. Returns 1 when it was new, to be filled; 0
 * when it exists; -1 when `tname` names a metatable that is not for Swift
 * objects (such as "FILE*"). */
int kcsh_newmetatable(lua_State *L, const char *tname);
/* Sets __gc of the metatable on top back to the one that releases boxes. */
void kcsh_restore_gc(lua_State *L);
/* Pushes a full userdata holding `box` (already retained) with metatable
 * `tname`; its __gc releases the box. Returns 0, pushing nothing and leaving
 * the box to the caller, when `tname` is not a Swift object metatable. */
int kcsh_push_swift_object(lua_State *L, void *box, const char *tname);
/* The box of a userdata made by kcsh_push_swift_object or a continuation, or
 * NULL when idx holds anything else (or tname does not match, when given).
 * Box userdata carry a magic number, so a foreign userdata is never read as
 * a box. */
void *kcsh_to_swift_object(lua_State *L, int idx, const char *tname);
/* Pushes a userdata that owns a continuation box (released by __gc). */
void kcsh_push_continuation(lua_State *L, void *box);

/* Wraps the allocator of L so that a failed allocation while Swift frames
 * are unprotected (inside a Swift function, before it makes a protected
 * call) stops the process instead of raising through them. Elsewhere
 * "not enough memory" is raised as usual. Returns 0 if it could not. */
int kcsh_guard_allocator(lua_State *L);
/* lua_close, then frees what kcsh_guard_allocator allocated. */
void kcsh_close(lua_State *L);
/* lua_resume, counted as a protected call. */
int kcsh_resume(lua_State *L, lua_State *from, int nargs, int *nresults);

/* Protected operations: they return a Lua status (LUA_OK or an error, with the
 * error value on top) instead of raising. */
int kcsh_pcall_traceback(lua_State *L, int nargs, int nresults);
/* lua_pcall for Swift code: errors inside, running out of memory included,
 * are caught by this call, so the allocator guard lets them be raised. */
int kcsh_pcall(lua_State *L, int nargs, int nresults, int msgh);
int kcsh_pgettable(lua_State *L, int idx);      /* t[k]: key on top -> value */
int kcsh_psettable(lua_State *L, int idx);      /* t[k] = v: k, v on top */
int kcsh_ptolstring(lua_State *L, int idx);     /* luaL_tolstring pushed */
int kcsh_popenlibs(lua_State *L);
/* lua_next for the table at idx, key on top: pops the key and pushes the next
 * key and value, or nil and nil at the end. lua_next raises "invalid key to
 * 'next'" for a key not in the table; here that is the returned status. */
int kcsh_pnext(lua_State *L, int idx);
/* Pushes the error value kcsh_pcall_traceback's message handler kept and
 * forgets it, so it is not kept alive or mistaken for a later one. Returns 0
 * (and pushes nil) when the handler did not run, as for memory errors. */
int kcsh_push_last_error(lua_State *L);
/* lua_gc is variadic, so Swift cannot call it. */
int kcsh_gc(lua_State *L, int what, int arg);
/* lua_gc(L, LUA_GCGEN, 0, 0): generational mode with default parameters. */
void kcsh_gc_generational(lua_State *L);

/* Ctrl-C: from a signal handler, arm a hook that raises "interrupted!" at the
 * next instruction count in state L (lua.c's lstop/laction). Signal-safe. */
void kcsh_interrupt(lua_State *L);
/* kcsh_interrupt for a CThreads watcher, whose argument is untyped. */
void kcsh_interrupt_watcher(void *L);
/* Removes the interrupt hook wherever the watcher armed it (not a hook of
 * debug.sethook). */
void kcsh_clear_interrupt(lua_State *L);
/* Around a resume of the coroutine at idx: while it runs, the watcher arms
 * it too (up to 64 nested). */
void kcsh_enter_thread(lua_State *L, int idx);
void kcsh_leave_thread(void);

/* Macros of lua.h as functions. */
static inline int kcsh_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline void kcsh_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void kcsh_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
static inline void kcsh_insert(lua_State *L, int i) { lua_insert(L, i); }
static inline void kcsh_remove(lua_State *L, int i) { lua_remove(L, i); }
static inline lua_Integer kcsh_tointeger(lua_State *L, int i, int *isnum) { return lua_tointegerx(L, i, isnum); }
/* The per-state extra space (shared by threads created from it): LuaKit keeps
 * its owner there. */
static inline void *kcsh_getowner(lua_State *L) { return *(void **)lua_getextraspace(L); }
static inline void kcsh_setowner(lua_State *L, void *o) { *(void **)lua_getextraspace(L) = o; }

#endif
