/* metrics.c - the HTTP endpoint at `metrics ADDR:PORT`, served from the
 * main thread's loop: /metrics in Prometheus text format (counters, and
 * what each service adds through its metrics hook) and / the status page
 * (status.c). The same text feeds `sluice ctl stats`. */
#include "config.h"
#include "engine.h"
#include "svc.h"
#include "log.h"
#include "worker.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <string.h>

void metrics_text(struct engine *e, struct evbuffer *b)
{
	uint64_t v[CTR_COUNT];

	engine_counters(e, v);
	evbuffer_add_printf(b, "# HELP sluice_flows_active sessions held now\n"
			       "# TYPE sluice_flows_active gauge\nsluice_flows_active %zu\n",
			    engine_flows(e));
	for (int c = 0; c < CTR_COUNT; c++)
		evbuffer_add_printf(b, "# HELP sluice_%s_total %s\n# TYPE sluice_%s_total counter\n"
				       "sluice_%s_total %llu\n",
				    ctr_name((enum ctr_id)c), ctr_help((enum ctr_id)c),
				    ctr_name((enum ctr_id)c), ctr_name((enum ctr_id)c),
				    (unsigned long long)v[c]);
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct svc *sv = svc_get((enum svc_id)s);

		if (sv && sv->metrics)
			sv->metrics(e, b);
	}
}

static void metrics_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	metrics_text(arg, b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* "/" is the status page; anything else is not here. */
static void other_cb(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b;

	if (!uri || (strcmp(uri, "/") != 0 && strncmp(uri, "/?", 2) != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	b = evbuffer_new();
	if (!b || status_page(arg, b) < 0) {
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/html; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* An accept that fails (no descriptor left, above all) would fail again at
 * once: libevent retries in a loop, logging each try. Stop accepting until
 * the engine's next tick (metrics_resume). */
static void accept_error_cb(struct evconnlistener *lis, void *arg)
{
	(void)arg;
	evconnlistener_disable(lis);
}

void metrics_resume(struct engine *e)
{
	if (e->http_lis)
		evconnlistener_enable(e->http_lis);
}

int metrics_start(struct engine *e, const struct addr *a)
{
	char ip[ADDR_STRLEN], buf[ADDR_STRLEN];
	struct evhttp_bound_socket *bound;

	e->http = evhttp_new(e->base);
	if (!e->http)
		return -1;
	evhttp_set_allowed_methods(e->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(e->http, "/metrics", metrics_cb, e);
	evhttp_set_gencb(e->http, other_cb, e);
	bound = evhttp_bind_socket_with_handle(e->http, addr_fmt_ip(a, ip, sizeof(ip)), addr_port(a));
	if (!bound) {
		log_err("metrics: cannot listen on %s", addr_fmt(a, buf, sizeof(buf)));
		evhttp_free(e->http);
		e->http = NULL;
		return -1;
	}
	e->http_lis = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(e->http_lis, accept_error_cb);
	e->http_addr = *a;
	return 0;
}

void metrics_stop(struct engine *e)
{
	if (e->http)
		evhttp_free(e->http);
	e->http = NULL;
	e->http_lis = NULL;
}
