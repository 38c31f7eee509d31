#include <stdio.h>
#include <histedit.h>

/* el_set, el_get and history are variadic, which Swift cannot call: one
 * typed wrapper per use. */
/* The standard streams as functions: Swift 6 rejects the C globals as
 * shared mutable state. */
static inline FILE *kcsh_stdin(void) { return stdin; }
static inline FILE *kcsh_stdout(void) { return stdout; }
static inline FILE *kcsh_stderr(void) { return stderr; }
/* Whether stdin's buffer holds input already read ahead (then waiting on the
 * descriptor could block for nothing). Unknown outside glibc: say yes. */
static inline int kcsh_stdin_buffered(void) {
#ifdef __GLIBC__
  return stdin->_IO_read_ptr < stdin->_IO_read_end;
#else
  return 1;
#endif
}

typedef char *(*kcsh_el_prompt_fn)(EditLine *);
typedef unsigned char (*kcsh_el_command_fn)(EditLine *, int);

static inline int kcsh_el_set_prompt(EditLine *el, kcsh_el_prompt_fn f) {
  return el_set(el, EL_PROMPT, f);
}
static inline int kcsh_el_set_editor(EditLine *el, const char *mode) {
  return el_set(el, EL_EDITOR, mode);
}
static inline int kcsh_el_set_signal(EditLine *el, int on) {
  return el_set(el, EL_SIGNAL, on);
}
static inline int kcsh_el_set_history(EditLine *el, History *h) {
  return el_set(el, EL_HIST, history, h);
}
static inline int kcsh_el_set_getc(EditLine *el, el_rfunc_t f) {
  return el_set(el, EL_GETCFN, f);
}
static inline int kcsh_el_set_clientdata(EditLine *el, void *data) {
  return el_set(el, EL_CLIENTDATA, data);
}
static inline void *kcsh_el_clientdata(EditLine *el) {
  void *data = NULL;
  el_get(el, EL_CLIENTDATA, &data);
  return data;
}
/* The editor commands kcsh adds, bound to their keys. Wide literals: libedit
 * keeps the name and help pointers as given (its narrow EL_ADDFN copies them
 * and never frees the copies). */
static inline int kcsh_el_bind_interrupt(EditLine *el, kcsh_el_command_fn f) {
  if (el_wset(el, EL_ADDFN, L"kcsh-interrupt", L"Abandon the input", f) != 0) return -1;
  return el_wset(el, EL_BIND, L"^C", L"kcsh-interrupt", NULL);
}
static inline int kcsh_el_bind_complete(EditLine *el, kcsh_el_command_fn f) {
  if (el_wset(el, EL_ADDFN, L"kcsh-complete", L"Complete the name before the cursor", f) != 0)
    return -1;
  return el_wset(el, EL_BIND, L"^I", L"kcsh-complete", NULL);
}

static inline int kcsh_history_setsize(History *h, int n) {
  HistEvent ev;
  return history(h, &ev, H_SETSIZE, n);
}
static inline int kcsh_history_setunique(History *h, int on) {
  HistEvent ev;
  return history(h, &ev, H_SETUNIQUE, on);
}
static inline int kcsh_history_enter(History *h, const char *line) {
  HistEvent ev;
  return history(h, &ev, H_ENTER, line);
}
/* Returns the number of entries read, or -1. */
static inline int kcsh_history_load(History *h, const char *path) {
  HistEvent ev;
  return history(h, &ev, H_LOAD, path);
}
static inline int kcsh_history_save_fp(History *h, FILE *fp) {
  HistEvent ev;
  return history(h, &ev, H_SAVE_FP, fp);
}
