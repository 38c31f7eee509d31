#define _GNU_SOURCE /* ppoll */
#include "CThreads.h"
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#define MAX_WATCHERS 64
/* fn is stored last and cleared first, so the handler never calls a slot
 * whose arg is being set. */
static struct {
  _Atomic(kcsh_intr_fn) fn;
  void *_Atomic arg;
  atomic_int fatal;
} watchers[MAX_WATCHERS];

static atomic_uint generation;
static atomic_int runs;
static atomic_int in_handler; /* handlers running now: unwatch waits for 0 */
static volatile sig_atomic_t prompt_mark;

/* Under lock: */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int installs;
static int fatal_watchers;
static struct sigaction previous;

static void on_sigint(int sig) {
  atomic_fetch_add(&in_handler, 1);
  if (atomic_load(&runs) > 0) {
    atomic_fetch_add(&generation, 1);
    int fatal = 0;
    for (int i = 0; i < MAX_WATCHERS; i++) {
      kcsh_intr_fn fn = atomic_load(&watchers[i].fn);
      if (!fn) continue;
      fn(atomic_load(&watchers[i].arg));
      fatal |= atomic_load(&watchers[i].fatal);
    }
    if (fatal) {
      struct sigaction dfl;
      memset(&dfl, 0, sizeof dfl);
      dfl.sa_handler = SIG_DFL;
      sigemptyset(&dfl.sa_mask);
      sigaction(sig, &dfl, NULL); /* if Lua's hook never fires, Ctrl-C again kills */
    }
  } else {
    prompt_mark = 1;
  }
  atomic_fetch_sub(&in_handler, 1);
}

/* Under lock. */
static void set_handler(struct sigaction *old) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked read() must see EINTR */
  sigaction(SIGINT, &sa, old);
}

void kcsh_intr_install(void) {
  pthread_mutex_lock(&lock);
  if (installs++ == 0) set_handler(&previous);
  pthread_mutex_unlock(&lock);
}

void kcsh_intr_uninstall(void) {
  pthread_mutex_lock(&lock);
  if (installs > 0 && --installs == 0) sigaction(SIGINT, &previous, NULL);
  pthread_mutex_unlock(&lock);
}

void kcsh_intr_run_begin(void) {
  kcsh_intr_install();
  atomic_fetch_add(&runs, 1);
}

void kcsh_intr_run_end(void) {
  atomic_fetch_sub(&runs, 1);
  kcsh_intr_uninstall();
}

unsigned kcsh_intr_generation(void) { return atomic_load(&generation); }

int kcsh_intr_watch(kcsh_intr_fn fn, void *arg, int fatal) {
  pthread_mutex_lock(&lock);
  int slot = -1;
  for (int i = 0; i < MAX_WATCHERS && slot < 0; i++) {
    if (atomic_load(&watchers[i].fn) == NULL) slot = i;
  }
  if (slot >= 0) {
    atomic_store(&watchers[slot].arg, arg);
    atomic_store(&watchers[slot].fatal, fatal != 0);
    atomic_store(&watchers[slot].fn, fn);
    if (fatal) fatal_watchers++;
  }
  pthread_mutex_unlock(&lock);
  return slot;
}

void kcsh_intr_unwatch(int slot) {
  if (slot < 0 || slot >= MAX_WATCHERS) return;
  pthread_mutex_lock(&lock);
  atomic_store(&watchers[slot].fn, NULL);
  /* A handler on another thread may still hold fn: its arg must stay valid
   * until it is done. (The handler never runs this, so it cannot be waiting
   * on itself.) */
  while (atomic_load(&in_handler) > 0) sched_yield();
  if (atomic_load(&watchers[slot].fatal)) {
    atomic_store(&watchers[slot].fatal, 0);
    /* The last fatal watcher gone: a SIGINT is caught again (the first may
     * have set SIG_DFL). */
    if (--fatal_watchers == 0 && installs > 0) set_handler(NULL);
  }
  pthread_mutex_unlock(&lock);
}

int kcsh_intr_take(void) {
  int p = prompt_mark;
  prompt_mark = 0;
  return p;
}

int kcsh_intr_wait_input(int fd) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int result;
  for (;;) {
    if (prompt_mark) {
      prompt_mark = 0;
      result = 0;
      break;
    }
    /* SIGINT is let in only inside ppoll: it cannot land between the check
     * above and the wait. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = ppoll(&p, 1, NULL, &old);
    if (n > 0) {
      result = 1;
      break;
    }
    if (n < 0 && errno != EINTR) {
      result = -1;
      break;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return result;
}

int kcsh_start_thread(pthread_t *thread, void *(*body)(void *), void *arg) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int rc = pthread_create(thread, NULL, body, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}
