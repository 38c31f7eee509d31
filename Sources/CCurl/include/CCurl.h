/* CCurl: libcurl for kcsh, loaded with dlopen on first use.
 *
 * Linking libcurl costs about 3.5 ms of dynamic loading at every start-up (it
 * pulls in ~30 libraries), which would break kcsh's budget of 4 ms over
 * lua5.4 for a script that never touches the API. So nothing here links
 * libcurl: kc_curl_load() opens it the first time a script needs it, and the
 * typed wrappers below call through the resolved pointers. They also stand in
 * for curl_easy_setopt/getinfo, which are variadic and so not callable from
 * Swift. */
#ifndef KCSH_CCURL_H
#define KCSH_CCURL_H

#include <curl/curl.h>
#include <stddef.h>

/* Opens libcurl and runs curl_global_init once; thread-safe. Returns 0, or -1
 * with a reason in err. */
int kc_curl_load(char *err, size_t errlen);

CURL *kc_easy_init(void);
void kc_easy_cleanup(CURL *h);
void kc_easy_reset(CURL *h);
CURLcode kc_easy_setopt_long(CURL *h, CURLoption opt, long v);
CURLcode kc_easy_setopt_off(CURL *h, CURLoption opt, curl_off_t v);
CURLcode kc_easy_setopt_ptr(CURL *h, CURLoption opt, const void *v);
/* A write or header callback (CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION). */
typedef size_t (*kc_write_fn)(char *data, size_t size, size_t n, void *user);
CURLcode kc_easy_setopt_writefn(CURL *h, CURLoption opt, kc_write_fn fn);
CURLcode kc_easy_getinfo_long(CURL *h, CURLINFO info, long *v);
const char *kc_easy_strerror(CURLcode code);

CURLM *kc_multi_init(void);
void kc_multi_cleanup(CURLM *m);
CURLMcode kc_multi_setopt_long(CURLM *m, CURLMoption opt, long v);
CURLMcode kc_multi_add(CURLM *m, CURL *h);
CURLMcode kc_multi_remove(CURLM *m, CURL *h);
CURLMcode kc_multi_perform(CURLM *m, int *running);
CURLMcode kc_multi_poll(CURLM *m, int timeout_ms, int *numfds);
CURLMcode kc_multi_wakeup(CURLM *m);
/* kc_multi_wakeup as an interrupt watcher (CThreads): async-signal-safe, a
 * write to the handle's socketpair. */
void kc_multi_wakeup_watcher(void *m);
/* Next finished transfer: returns 1 and fills h and result, or 0. */
int kc_multi_next_done(CURLM *m, CURL **h, CURLcode *result);

struct curl_slist *kc_slist_append(struct curl_slist *l, const char *s);
void kc_slist_free_all(struct curl_slist *l);

/* An HTTP date as seconds since the epoch, or -1. */
long long kc_getdate(const char *s);

#endif
