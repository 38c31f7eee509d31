/* The REPL's Ctrl-C, done as lua.c does it (laction/lstop): the handlers only
 * set a flag or arm the interrupt hook; the work happens on safe ground. */
#ifndef KCSH_SIGNALS_H
#define KCSH_SIGNALS_H

#include <lua.h>

/* While Lua code runs in L: SIGINT arms kcsh_interrupt(L), and a second
 * SIGINT before it fires ends the process (SIG_DFL), as in lua.c. */
void kcsh_sigint_running(lua_State *L);
/* While waiting for input: SIGINT only records itself (read() then fails with
 * EINTR, as no SA_RESTART is set); kcsh_sigint_take reports and clears it. */
void kcsh_sigint_idle(void);
int kcsh_sigint_take(void);
/* Waits until fd has input (1) or a SIGINT came (0, and the flag is
 * cleared), or fails (-1); other signals do not end the wait. */
int kcsh_wait_input(int fd);
/* Puts back the SIGINT disposition found by the first call above. */
void kcsh_sigint_restore(void);

#endif
