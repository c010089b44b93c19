#include "config.h"
/* dns_up_tls.c - the TLS side of DNS over TLS upstreams (RFC 7858): the
 * client context a config makes (system store plus tls-ca, TLS 1.2 and
 * later, peer verification required), one SSL per connection with SNI and
 * the name (or address) to verify, TLS session resumption through the
 * per-worker server state, and the reason a handshake failed, for the log.
 * The connections themselves are dns_up_tcp.c's (tls://) and dns_up_h2.c's
 * (https://, which adds ALPN h2). */
#include "dns_up_int.h"
#include "log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/* A new session ticket: kept for the next connection to the same server. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct dns_up_srv *st = SSL_get_app_data(ssl);

	if (!st)
		return 0;
	if (st->sess)
		SSL_SESSION_free(st->sess);
	st->sess = sess;
	return 1; /* we keep the reference */
}

SSL_CTX *dns_up_tls_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "cannot make a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "cannot read the system's certificate store");
		goto fail;
	}
	if (ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, errlen, "tls-ca %s: not a readable PEM certificate file", ca_file);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

void dns_up_tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

SSL *dns_up_tls_ssl_new(const struct dns_up_server *sv, struct dns_up_srv *st)
{
	SSL *ssl = SSL_new(sv->tls->ctx);
	char ip[ADDR_STRLEN];
	int ok;

	if (!ssl)
		return NULL;
	if (sv->tls->auth[0]) {
		ok = SSL_set_tlsext_host_name(ssl, sv->tls->auth) == 1 &&
		     SSL_set1_host(ssl, sv->tls->auth) == 1;
	} else {
		/* No name: the certificate must carry the server's address (RFC 7858 4.1). */
		addr_fmt_ip(&sv->addr, ip, sizeof(ip));
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) == 1;
	}
	if (ok && st->sess)
		ok = SSL_set_session(ssl, st->sess) == 1;
	if (!ok) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_app_data(ssl, st);
	return ssl;
}

void dns_up_tls_failed(struct dns_up *u, struct dns_up_srv *st, SSL *ssl, unsigned long err)
{
	char why[256];
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (v != X509_V_OK)
		snprintf(why, sizeof(why), "certificate not accepted: %s",
			 X509_verify_cert_error_string(v));
	else if (err && ERR_GET_LIB(err) != 0) /* lib 0: a socket error, not TLS's */
		ERR_error_string_n(err, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "connection failed or closed during the handshake");
	ERR_clear_error();
	dns_up_tls_refused(u, st, why);
}

void dns_up_tls_refused(struct dns_up *u, struct dns_up_srv *st, const char *why)
{
	char who[ADDR_STRLEN], line[600];

	/* Once per server and reason: a refused certificate stays refused. */
	if (strcmp(why, st->last_error) == 0)
		return;
	snprintf(st->last_error, sizeof(st->last_error), "%s", why);
	snprintf(line, sizeof(line), "dns: %s://%s#%s: %s", dns_proto_name(st->proto),
		 addr_fmt(&st->addr, who, sizeof(who)), st->auth[0] ? st->auth : "(address)", why);
	/* every worker sees the same failure: one line for the process (an hour) */
	if (log_once_first(u->env.once, line, 3600 * 1000))
		log_err("%s", line);
}
