/* SPDX-License-Identifier: GPL-3.0-or-later */
/* quantscope-loader: parses one model file from a stranger and writes the parsed model to
 * stdout (the stream of core/qs-model-sandbox.c). It runs with:
 * - resource limits: address space (not under AddressSanitizer or ThreadSanitizer, which
 *   reserve terabytes of shadow memory), CPU time, open files, no file writes (RLIMIT_FSIZE 0), no core dumps;
 * - a wall-clock alarm (QS_LOADER_TIMEOUT seconds): HDF5 can loop for minutes on a
 *   one-bit change;
 * - a seccomp filter where libseccomp is available: no exec, no new processes, no network,
 *   no opening files for writing, no writes except to stdout and stderr, no renames,
 *   unlinks or permission changes.
 * The parent (qs_model_load_untrusted) turns a crash, a limit or the alarm into an error
 * that names the file. Usage (internal): quantscope-loader -- MODEL [ARCHITECTURE], or
 * quantscope-loader --h5-dataset -- FILE [X Y] for an HDF5 dataset's image and label arrays. */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "quantscope-core.h"
#include "qs-model-sandbox.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define QS_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define QS_UNDER_SANITIZER 1
#endif
#endif

static void
set_limit (int      resource,
           rlim_t   value)
{
  struct rlimit rl = { value, value };

  if (setrlimit (resource, &rl) != 0)
    g_debug ("setrlimit %d: %s", resource, g_strerror (errno));
}

static void
apply_limits (const char *path,
              guint       timeout)
{
  struct stat st;

#ifndef QS_UNDER_SANITIZER
  {
    guint64 size = stat (path, &st) == 0 ? (guint64) st.st_size : 0;
    /* The parsed model is about the file's size in float32 (a .keras zip inflates its
     * weights once); 6x plus 2 GiB leaves room for HDF5's caches and the stream. */
    guint64 as = ((guint64) 2 << 30) + 6 * size;
    set_limit (RLIMIT_AS, (rlim_t) as);
  }
#endif
  set_limit (RLIMIT_CPU, timeout);
  set_limit (RLIMIT_NOFILE, 64);
  /* No file grows, unless stderr is a file (`quantscope-cli … 2>log`): a diagnostic would
   * then kill the reader with SIGXFSZ. The seccomp filter refuses opening files for
   * writing either way. */
  if (fstat (STDERR_FILENO, &st) != 0 || !S_ISREG (st.st_mode))
    set_limit (RLIMIT_FSIZE, 0);
  set_limit (RLIMIT_CORE, 0);
  alarm (timeout);
}

#ifdef HAVE_SECCOMP
static gboolean
apply_seccomp (void)
{
  static const int denied[] = {
    SCMP_SYS (execve), SCMP_SYS (execveat), SCMP_SYS (fork), SCMP_SYS (vfork),
    SCMP_SYS (socket), SCMP_SYS (socketpair), SCMP_SYS (connect), SCMP_SYS (bind),
    SCMP_SYS (listen), SCMP_SYS (accept), SCMP_SYS (accept4), SCMP_SYS (sendto),
    SCMP_SYS (sendmsg), SCMP_SYS (ptrace), SCMP_SYS (process_vm_writev),
    SCMP_SYS (unlink), SCMP_SYS (unlinkat), SCMP_SYS (rename), SCMP_SYS (renameat),
    SCMP_SYS (renameat2), SCMP_SYS (mkdir), SCMP_SYS (mkdirat), SCMP_SYS (rmdir),
    SCMP_SYS (truncate), SCMP_SYS (ftruncate), SCMP_SYS (chmod), SCMP_SYS (fchmod),
    SCMP_SYS (fchmodat), SCMP_SYS (chown), SCMP_SYS (fchown), SCMP_SYS (lchown),
    SCMP_SYS (fchownat), SCMP_SYS (link), SCMP_SYS (linkat), SCMP_SYS (symlink),
    SCMP_SYS (symlinkat), SCMP_SYS (mknod), SCMP_SYS (mknodat), SCMP_SYS (creat),
    SCMP_SYS (setxattr), SCMP_SYS (lsetxattr), SCMP_SYS (fsetxattr),
    SCMP_SYS (removexattr), SCMP_SYS (lremovexattr), SCMP_SYS (fremovexattr),
    SCMP_SYS (mount), SCMP_SYS (umount2), SCMP_SYS (pivot_root), SCMP_SYS (chroot),
    SCMP_SYS (setuid), SCMP_SYS (setgid), SCMP_SYS (init_module), SCMP_SYS (finit_module),
    SCMP_SYS (kexec_load), SCMP_SYS (bpf), SCMP_SYS (perf_event_open), SCMP_SYS (io_uring_setup),
  };
  static const int writes[] = {
    SCMP_SYS (write), SCMP_SYS (pwrite64), SCMP_SYS (writev), SCMP_SYS (pwritev),
    SCMP_SYS (pwritev2), SCMP_SYS (sendfile), SCMP_SYS (splice), SCMP_SYS (copy_file_range),
  };
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  int rc = 0;

  if (ctx == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (denied) && rc == 0; i++)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), denied[i], 0);
  /* clone3 cannot be filtered by its flags: ENOSYS makes glibc fall back to clone. */
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0);
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (openat2), 0);
  /* Opening for writing or creating. */
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (open), 1,
                           SCMP_A1 (SCMP_CMP_MASKED_EQ, O_ACCMODE, O_WRONLY));
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (open), 1,
                           SCMP_A1 (SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDWR));
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (open), 1,
                           SCMP_A1 (SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (openat), 1,
                           SCMP_A2 (SCMP_CMP_MASKED_EQ, O_ACCMODE, O_WRONLY));
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (openat), 1,
                           SCMP_A2 (SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDWR));
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (openat), 1,
                           SCMP_A2 (SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));
  /* Writes only to stdout (the stream) and stderr. */
  for (gsize i = 0; i < G_N_ELEMENTS (writes) && rc == 0; i++)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), writes[i], 1, SCMP_A0 (SCMP_CMP_GT, 2));
  if (rc == 0)
    rc = seccomp_load (ctx);
  seccomp_release (ctx);
  if (rc != 0)
    g_debug ("seccomp: %s", g_strerror (-rc));
  return rc == 0;
}
#endif

/* --check-sandbox: applies the limits and the filter, then tries what a compromised
 * reader would, printing one line per attempt on stderr ("refused" or "ALLOWED"). The test suite
 * runs it; exit status 0 when everything was refused. */
static int
check_sandbox (void)
{
  g_autofree char *tmp = g_build_filename (g_get_tmp_dir (), "qs-loader-check-XXXXXX", NULL);
  int failures = 0;
  int fd;

  apply_limits ("/", 5);
#ifdef HAVE_SECCOMP
  if (!apply_seccomp ())
    {
      g_printerr ("seccomp: not applied\n");
      return 1;
    }
  g_printerr ("seccomp: applied\n");
#else
  g_printerr ("seccomp: not built\n");
#endif
  fd = g_mkstemp (tmp);
  g_printerr ("create a file: %s\n", fd < 0 ? "refused" : "ALLOWED");
  failures += fd >= 0;
  fd = open ("/etc/hostname", O_WRONLY | O_APPEND);
  g_printerr ("open a file for writing: %s\n", fd < 0 ? "refused" : "ALLOWED");
  failures += fd >= 0;
  fd = socket (AF_INET, SOCK_STREAM, 0);
  g_printerr ("open a network socket: %s\n", fd < 0 ? "refused" : "ALLOWED");
  failures += fd >= 0;
  {
    char *args[] = { (char *) "/bin/true", NULL };
    int rc = execv ("/bin/true", args);
    g_printerr ("run a program: %s\n", rc < 0 ? "refused" : "ALLOWED");
    failures += rc >= 0;
  }
  {
    int dup_fd = dup (STDERR_FILENO);
    gssize n = dup_fd >= 0 ? write (dup_fd, "", 0) : -1;
    g_printerr ("write to another descriptor: %s\n", n < 0 ? "refused" : "ALLOWED");
    failures += n >= 0;
  }
#ifdef HAVE_SECCOMP
  return failures == 0 ? 0 : 1;
#else
  return 0;
#endif
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  const char *path, *architecture = NULL;
  guint64 timeout = 10;
  const char *env = g_getenv ("QS_LOADER_TIMEOUT");
  int first = 1;
  gboolean h5_dataset = FALSE;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, qs_data_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc == 2 && g_strcmp0 (argv[1], "--check-sandbox") == 0)
    return check_sandbox ();
  if (argc > 1 && g_strcmp0 (argv[1], "--h5-dataset") == 0)
    {
      h5_dataset = TRUE;
      argv++;
      argc--;
    }
  if (argc > 1 && g_strcmp0 (argv[1], "--") == 0)
    first = 2;
  if (argc - first < 1 || argc - first > (h5_dataset ? 3 : 2) || isatty (STDOUT_FILENO))
    {
      g_printerr ("%s\n", _("quantscope-loader is started by Quantscope to read model files "
                            "in a sandbox; it is not meant to be run by hand."));
      return 2;
    }
  path = argv[first];
  if (argc - first == 2)
    architecture = argv[first + 1];
  if (env != NULL)
    g_ascii_string_to_unsigned (env, 10, 1, 3600, &timeout, NULL);

  /* A 1 MiB pipe (Linux's default maximum) instead of 64 KiB: 16x fewer switches between
   * the reader and the parent while a 100 MB model goes through. */
#ifdef F_SETPIPE_SZ
  fcntl (STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);
#endif

  /* Everything that opens libraries or locale files happens before the filter. */
  g_type_ensure (QS_TYPE_MODEL);
  apply_limits (path, (guint) timeout);
#ifdef HAVE_SECCOMP
  if (g_strcmp0 (g_getenv ("QS_LOADER_NO_SECCOMP"), "1") != 0 && !apply_seccomp ())
    g_debug ("seccomp filter not applied");
#endif

  if (h5_dataset)
    {
      /* An HDF5 dataset file: its image and label arrays (names optional). */
      QsDatasetArrays arrays;
      const char *x_name = argc - first == 3 ? argv[first + 1] : NULL;
      const char *y_name = argc - first == 3 ? argv[first + 2] : NULL;

      if (!_qs_dataset_h5_arrays_read (path, x_name, y_name, &arrays, &error))
        {
          _qs_model_sandbox_write_error (STDOUT_FILENO, error);
          return 1;
        }
      if (!_qs_dataset_sandbox_write_arrays (STDOUT_FILENO, &arrays, &error))
        return 3;
      _qs_dataset_arrays_clear (&arrays);
      return 0;
    }

  model = qs_model_load (path, architecture, NULL, &error);
  if (model == NULL)
    {
      _qs_model_sandbox_write_error (STDOUT_FILENO, error);
      return 1;
    }
  if (!_qs_model_sandbox_write_model (STDOUT_FILENO, model, &error))
    return 3;
  return 0;
}
