/*
 * mitload: MIT libkrb5 as the load on a KDC, the way its clients call it.
 *
 *   mitload as  WORKERS SECONDS CLIENT@REALM KEYTAB
 *   mitload tgs WORKERS SECONDS CLIENT@REALM KEYTAB SERVICE/HOST@REALM
 *
 * WORKERS processes (each its own krb5_context) loop for SECONDS:
 *   as:  krb5_get_init_creds_keytab (kinit -k: a first AS-REQ answered with
 *        KDC_ERR_PREAUTH_REQUIRED, then one with PA-ENC-TIMESTAMP);
 *   tgs: krb5_get_credentials for SERVICE from a fresh MEMORY ccache holding
 *        only the worker's TGT (got once at start), so every call is a
 *        TGS exchange as a client's first use of a service (MIT 1.20 wraps it
 *        in FAST with the TGT as implicit armour, RFC 6113 §5.4.1.1).
 * The KDC is whatever KRB5_CONFIG names for the realm. Prints one line:
 *   ops=N failures=N seconds=S
 * Built by bench/kdc (cc mitload.c -lkrb5 -lk5crypto -lcom_err); never committed as a binary.
 */
#include <krb5.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(krb5_context ctx, krb5_error_code code, const char *what) {
  const char *msg = krb5_get_error_message(ctx, code);
  fprintf(stderr, "mitload: %s: %s\n", what, msg);
  krb5_free_error_message(ctx, msg);
}

/* One worker: returns through the pipe "ops failures seconds". */
static int worker(int tgs, double seconds, const char *cname, const char *ktname, const char *sname, int out) {
  krb5_context ctx;
  krb5_principal client = NULL, server = NULL;
  krb5_keytab kt = NULL;
  krb5_get_init_creds_opt *opts = NULL;
  krb5_creds tgt;
  krb5_error_code code;
  long ops = 0, failures = 0, reported = 0;
  if ((code = krb5_init_context(&ctx)) != 0) {
    fprintf(stderr, "mitload: krb5_init_context failed (%d)\n", code);
    return 1;
  }
  if ((code = krb5_parse_name(ctx, cname, &client)) != 0) return fail(ctx, code, cname), 1;
  if ((code = krb5_kt_resolve(ctx, ktname, &kt)) != 0) return fail(ctx, code, ktname), 1;
  if ((code = krb5_get_init_creds_opt_alloc(ctx, &opts)) != 0) return fail(ctx, code, "opt_alloc"), 1;
  if (tgs) {
    if ((code = krb5_parse_name(ctx, sname, &server)) != 0) return fail(ctx, code, sname), 1;
    if ((code = krb5_get_init_creds_keytab(ctx, &tgt, client, kt, 0, NULL, opts)) != 0) return fail(ctx, code, "TGT"), 1;
  }
  double t0 = now(), end = t0 + seconds, t = t0;
  while (t < end) {
    if (!tgs) {
      krb5_creds creds;
      code = krb5_get_init_creds_keytab(ctx, &creds, client, kt, 0, NULL, opts);
      if (code == 0) krb5_free_cred_contents(ctx, &creds);
    } else {
      krb5_ccache cc;
      code = krb5_cc_new_unique(ctx, "MEMORY", NULL, &cc);
      if (code == 0) {
        krb5_creds in, *creds = NULL;
        if ((code = krb5_cc_initialize(ctx, cc, client)) == 0 && (code = krb5_cc_store_cred(ctx, cc, &tgt)) == 0) {
          memset(&in, 0, sizeof in);
          in.client = client;
          in.server = server;
          code = krb5_get_credentials(ctx, 0, cc, &in, &creds);
          if (code == 0) krb5_free_creds(ctx, creds);
        }
        krb5_cc_destroy(ctx, cc);
      }
    }
    if (code == 0) ops++;
    else {
      failures++;
      if (reported++ < 3) fail(ctx, code, tgs ? "krb5_get_credentials" : "krb5_get_init_creds_keytab");
    }
    t = now();
  }
  dprintf(out, "%ld %ld %.6f\n", ops, failures, t - t0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 6 || (strcmp(argv[1], "as") && strcmp(argv[1], "tgs")) || (!strcmp(argv[1], "tgs") && argc < 7)) {
    fprintf(stderr, "usage: mitload as|tgs WORKERS SECONDS CLIENT@REALM KEYTAB [SERVICE@REALM]\n");
    return 2;
  }
  int tgs = !strcmp(argv[1], "tgs");
  int workers = atoi(argv[2]);
  double seconds = atof(argv[3]);
  if (workers < 1 || workers > 256 || !(seconds > 0)) {
    fprintf(stderr, "mitload: WORKERS must be 1-256 and SECONDS positive\n");
    return 2;
  }
  int fds[2];
  if (pipe(fds) != 0) return perror("pipe"), 1;
  for (int i = 0; i < workers; i++) {
    pid_t pid = fork();
    if (pid < 0) return perror("fork"), 1;
    if (pid == 0) {
      close(fds[0]);
      _exit(worker(tgs, seconds, argv[4], argv[5], tgs ? argv[6] : NULL, fds[1]));
    }
  }
  close(fds[1]);
  FILE *in = fdopen(fds[0], "r");
  long ops = 0, failures = 0, o, f;
  double longest = 0, s;
  int reports = 0;
  while (fscanf(in, "%ld %ld %lf", &o, &f, &s) == 3) {
    ops += o;
    failures += f;
    if (s > longest) longest = s;
    reports++;
  }
  int status, bad = 0;
  while (wait(&status) > 0)
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) bad++;
  /* The workers' own CPU (user + system), for what the load costs the cores it shares with the KDC. */
  struct rusage ru;
  double cpu = 0;
  if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
    cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("ops=%ld failures=%ld seconds=%.3f cpu=%.6f\n", ops, failures, longest, cpu);
  return bad || reports != workers ? 1 : 0;
}
