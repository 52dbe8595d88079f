#include "daemons/rill/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>
#include <vector>

#include "daemons/rill/process_util.h"

namespace rill::cli {

pid_t spawn_daemon(const daemon_spec& spec, std::string& error) {
  // Everything the child needs is prepared before fork().
  std::vector<std::string> argv_s;
  argv_s.push_back(spec.binary.string());
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = ::open(spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    error = "cannot open " + spec.log.string() + ": " + ::strerror(errno);
    return -1;
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    error = std::string("cannot open /dev/null: ") + ::strerror(errno);
    ::close(log_fd);
    return -1;
  }
  std::string header = "---- " + format_local_time(now_ns()) + " rill: starting " + spec.name + ":";
  for (const auto& a : argv_s) header += " " + a;
  header += "\n";
  ssize_t w = ::write(log_fd, header.data(), header.size());
  (void)w;
  const std::string exec_fail = "rill: cannot execute " + spec.binary.string() + ": ";

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + ::strerror(errno);
    ::close(log_fd);
    ::close(null_fd);
    return -1;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);  // the supervisor already died
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT}) ::signal(sig, SIG_DFL);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    int err = errno;
    ssize_t n = ::write(STDERR_FILENO, exec_fail.data(), exec_fail.size());
    const char* msg = ::strerror(err);
    n = ::write(STDERR_FILENO, msg, ::strlen(msg));
    n = ::write(STDERR_FILENO, "\n", 1);
    (void)n;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent: no race with signal_daemon()
  ::close(log_fd);
  ::close(null_fd);
  return pid;
}

void signal_daemon(pid_t pid, int sig) {
  if (pid <= 0) return;
  if (::kill(-pid, sig) != 0) ::kill(pid, sig);
}

}  // namespace rill::cli
