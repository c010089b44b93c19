/* metrics.c - counters in Prometheus text format over evhttp, served from
 * the main thread's loop. */
#include "config.h"
#include "engine.h"
#include "svc.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

static void metrics_cb(struct evhttp_request *req, void *arg)
{
	struct engine *e = arg;
	struct evbuffer *b = evbuffer_new();
	uint64_t v[CTR_COUNT];

	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
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
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

int metrics_start(struct engine *e, const struct addr *a)
{
	char ip[ADDR_STRLEN], buf[ADDR_STRLEN];

	e->http = evhttp_new(e->base);
	if (!e->http)
		return -1;
	evhttp_set_allowed_methods(e->http, EVHTTP_REQ_GET);
	evhttp_set_cb(e->http, "/metrics", metrics_cb, e);
	if (evhttp_bind_socket(e->http, addr_fmt_ip(a, ip, sizeof(ip)), addr_port(a)) < 0) {
		log_err("metrics: cannot listen on %s", addr_fmt(a, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

void metrics_stop(struct engine *e)
{
	if (e->http)
		evhttp_free(e->http);
	e->http = NULL;
}
