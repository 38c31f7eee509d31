#define _GNU_SOURCE /* ppoll */
#include "kcsh_signals.h"
#include "LuaShim.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

static lua_State *volatile running_state;
static volatile sig_atomic_t pending;
static struct sigaction original;
static int saved;

static void on_running(int sig) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL); /* if the hook never fires, Ctrl-C again kills */
  lua_State *L = running_state;
  if (L != NULL) kcsh_interrupt(L);
}

static void on_idle(int sig) {
  (void)sig;
  pending = 1;
}

static void install(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked read() must see EINTR */
  sigaction(SIGINT, &sa, saved ? NULL : &original);
  saved = 1;
}

void kcsh_sigint_running(lua_State *L) {
  running_state = L;
  install(on_running);
}

void kcsh_sigint_idle(void) {
  install(on_idle);
  running_state = NULL;
}

int kcsh_sigint_take(void) {
  int p = pending;
  pending = 0;
  return p;
}

void kcsh_sigint_restore(void) {
  if (saved) sigaction(SIGINT, &original, NULL);
  saved = 0;
  running_state = NULL;
}

int kcsh_wait_input(int fd) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int result;
  for (;;) {
    if (pending) {
      pending = 0;
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
