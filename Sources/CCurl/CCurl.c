#include "CCurl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *);
  void (*easy_reset)(CURL *);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  const char *(*easy_strerror)(CURLcode);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *);
  CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned, int, int *);
  CURLMcode (*multi_wakeup)(CURLM *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  time_t (*getdate)(const char *, const time_t *);
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];
static int loaded;

static void load(void) {
  static const char *const names[] = {"libcurl.so.4", "libcurl.so", "libcurl.4.dylib",
                                      "libcurl.dylib", NULL};
  void *lib = NULL;
  for (int i = 0; names[i] && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    snprintf(load_error, sizeof load_error, "cannot load libcurl: %s", e ? e : "not found");
    return;
  }
#define SYM(field, name)                                                                  \
  do {                                                                                    \
    *(void **)&api.field = dlsym(lib, name);                                              \
    if (!api.field) {                                                                     \
      snprintf(load_error, sizeof load_error, "libcurl lacks %s (need 7.68 or later)", name); \
      return;                                                                             \
    }                                                                                     \
  } while (0)
  SYM(global_init, "curl_global_init");
  SYM(easy_init, "curl_easy_init");
  SYM(easy_cleanup, "curl_easy_cleanup");
  SYM(easy_reset, "curl_easy_reset");
  SYM(easy_setopt, "curl_easy_setopt");
  SYM(easy_getinfo, "curl_easy_getinfo");
  SYM(easy_strerror, "curl_easy_strerror");
  SYM(multi_init, "curl_multi_init");
  SYM(multi_cleanup, "curl_multi_cleanup");
  SYM(multi_setopt, "curl_multi_setopt");
  SYM(multi_add_handle, "curl_multi_add_handle");
  SYM(multi_remove_handle, "curl_multi_remove_handle");
  SYM(multi_perform, "curl_multi_perform");
  SYM(multi_poll, "curl_multi_poll");
  SYM(multi_wakeup, "curl_multi_wakeup");
  SYM(multi_info_read, "curl_multi_info_read");
  SYM(slist_append, "curl_slist_append");
  SYM(slist_free_all, "curl_slist_free_all");
  SYM(getdate, "curl_getdate");
#undef SYM
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(load_error, sizeof load_error, "curl_global_init failed");
    return;
  }
  loaded = 1;
}

int kc_curl_load(char *err, size_t errlen) {
  pthread_once(&once, load);
  if (loaded) return 0;
  if (err && errlen) snprintf(err, errlen, "%s", load_error);
  return -1;
}

CURL *kc_easy_init(void) { return api.easy_init(); }
void kc_easy_cleanup(CURL *h) { api.easy_cleanup(h); }
void kc_easy_reset(CURL *h) { api.easy_reset(h); }
CURLcode kc_easy_setopt_long(CURL *h, CURLoption o, long v) { return api.easy_setopt(h, o, v); }
CURLcode kc_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return api.easy_setopt(h, o, v); }
CURLcode kc_easy_setopt_ptr(CURL *h, CURLoption o, const void *v) { return api.easy_setopt(h, o, v); }
CURLcode kc_easy_setopt_writefn(CURL *h, CURLoption o, kc_write_fn fn) {
  return api.easy_setopt(h, o, fn);
}
CURLcode kc_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return api.easy_getinfo(h, i, v); }
const char *kc_easy_strerror(CURLcode c) { return api.easy_strerror(c); }

CURLM *kc_multi_init(void) { return api.multi_init(); }
void kc_multi_cleanup(CURLM *m) { api.multi_cleanup(m); }
CURLMcode kc_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return api.multi_setopt(m, o, v); }
CURLMcode kc_multi_add(CURLM *m, CURL *h) { return api.multi_add_handle(m, h); }
CURLMcode kc_multi_remove(CURLM *m, CURL *h) { return api.multi_remove_handle(m, h); }
CURLMcode kc_multi_perform(CURLM *m, int *running) { return api.multi_perform(m, running); }
CURLMcode kc_multi_poll(CURLM *m, int timeout_ms, int *numfds) {
  return api.multi_poll(m, NULL, 0, timeout_ms, numfds);
}
CURLMcode kc_multi_wakeup(CURLM *m) { return api.multi_wakeup(m); }
void kc_multi_wakeup_watcher(void *m) { api.multi_wakeup(m); }
int kc_multi_next_done(CURLM *m, CURL **h, CURLcode *result) {
  int left;
  CURLMsg *msg;
  while ((msg = api.multi_info_read(m, &left)) != NULL) {
    if (msg->msg == CURLMSG_DONE) {
      *h = msg->easy_handle;
      *result = msg->data.result;
      return 1;
    }
  }
  return 0;
}

struct curl_slist *kc_slist_append(struct curl_slist *l, const char *s) { return api.slist_append(l, s); }
void kc_slist_free_all(struct curl_slist *l) { api.slist_free_all(l); }
long long kc_getdate(const char *s) {
  /* Usable before any transfer (tests, parsing): load on demand. */
  if (kc_curl_load(NULL, 0) != 0) return -1;
  return (long long)api.getdate(s, NULL);
}
