/* CThreads: kcsh's one interrupt model, and the thread start that goes with
 * it. Every Ctrl-C goes through the one SIGINT handler here.
 *
 * - A *run* is work that Ctrl-C stops: Lua code running, or a thread waiting
 *   for a request. While at least one run is active, a SIGINT bumps the
 *   interrupt generation (work begun before a later generation is cancelled)
 *   and calls every watcher (async-signal-safe wakeups: curl_multi_wakeup,
 *   arming Lua's interrupt hook). A watcher registered as `fatal` makes the
 *   next SIGINT end the process until it is removed, as lua.c's laction does
 *   in case its hook never fires.
 * - Outside runs (the REPL's prompt) a SIGINT only marks the prompt: the
 *   input wait returns and the line is dropped.
 * - Threads kcsh starts never take SIGINT, so it always reaches the main
 *   thread, where the prompt waits with SIGINT let in only inside ppoll. */
#ifndef KCSH_CTHREADS_H
#define KCSH_CTHREADS_H

#include <pthread.h>

/* Installs the SIGINT handler; nests. The outermost call saves the
 * disposition found, and its matching uninstall puts it back. */
void kcsh_intr_install(void);
void kcsh_intr_uninstall(void);

/* A run (nests; it installs the handler for its length). */
void kcsh_intr_run_begin(void);
void kcsh_intr_run_end(void);
/* Counts the SIGINTs that came during runs. */
unsigned kcsh_intr_generation(void);

/* Called from the signal handler during runs: must be async-signal-safe. */
typedef void (*kcsh_intr_fn)(void *arg);
/* Registers fn(arg); returns a slot for kcsh_intr_unwatch, or -1 when all
 * slots are taken (then arg is not woken early; its waits still end at their
 * next poll round). */
int kcsh_intr_watch(kcsh_intr_fn fn, void *arg, int fatal);
/* Removes a watcher; once it returns, the handler no longer calls it. */
void kcsh_intr_unwatch(int slot);

/* The prompt: waits until fd has input (1) or a SIGINT came outside runs (0,
 * and the mark is cleared), or fails (-1). Other signals do not end it. */
int kcsh_intr_wait_input(int fd);
/* Reports and clears the prompt's mark (after a read that failed with EINTR:
 * the handler sets no SA_RESTART). */
int kcsh_intr_take(void);

/* pthread_create with SIGINT blocked in the new thread (the mask is set
 * around the call, so there is no window). Returns 0 or an errno. */
int kcsh_start_thread(pthread_t *thread, void *(*body)(void *), void *arg);

#endif
