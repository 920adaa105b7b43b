/*
 * cmd_health.c: `kosyncd healthcheck`, for container HEALTHCHECKs and
 * monitors: GET /healthcheck on the configured listen address (loopback
 * in place of a wildcard host), exit 0 when it answers 200.
 *
 * It reads database.json's "config" object (as `config show` does) for
 * the listen address, takes no lock and never touches the store.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "cmd.h"
#include "config.h"
#include "control_client.h"

#define HEALTHCHECK_TIMEOUT_MS 5000

/* Replace a wildcard address by the loopback address of its family. */
static void
to_loopback(struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t port;

	if (ss->ss_family == AF_INET && sin->sin_addr.s_addr == INADDR_ANY) {
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss->ss_family == AF_INET6 &&
	           memcmp(&sin6->sin6_addr, &in6addr_any,
	               sizeof(in6addr_any)) == 0) {
		/*
		 * ":port" listens on IPv6 and IPv4 alike (or IPv4 only on a
		 * host without IPv6): 127.0.0.1 reaches it either way.
		 */
		port = sin6->sin6_port;
		memset(ss, 0, sizeof(*ss));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = port;
	}
}

static int
cmd_healthcheck_exec(struct cmd_args *args)
{
	struct config *cfg = args->cfg;
	struct sockaddr_storage ss;
	struct buf path = BUF_INIT, err = BUF_INIT, out = BUF_INIT;
	const char *why;
	int status = 0, rc = 1;

	if (strcmp(cfg->storage, "file") == 0) {
		buf_addf(&path, "%s/%s", cfg->data_dir, CONFIG_DATABASE_FILE);
		if (config_file_load(cfg, path.data, &err) == -1) {
			fprintf(
			    stderr, "kosyncd: %s: %s\n", path.data, err.data);
			goto out;
		}
	}
	if (addr_parse_listen(cfg->listen_address, &ss, &why) == -1) {
		fprintf(stderr, "kosyncd: invalid listen_address '%s': %s\n",
		    cfg->listen_address, why);
		goto out;
	}
	to_loopback(&ss);
	if (control_http_get((struct sockaddr *)&ss,
	        ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
	                                : sizeof(struct sockaddr_in6),
	        "/healthcheck", HEALTHCHECK_TIMEOUT_MS, &status, &out,
	        &err) == -1) {
		fprintf(
		    stderr, "kosyncd: %s: %s\n", cfg->listen_address, err.data);
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "kosyncd: %s: /healthcheck answered %d\n",
		    cfg->listen_address, status);
		goto out;
	}
	printf("%s\n", out.data);
	rc = 0;
out:
	buf_release(&path);
	buf_release(&err);
	buf_release(&out);
	return rc;
}

const struct cmd_entry cmd_healthcheck_entry = {
    .name = "healthcheck",
    .args = "",
    .help = "Exit 0 when the server at listen_address answers.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_healthcheck_exec,
};
