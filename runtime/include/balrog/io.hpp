// balrog/io.hpp — waiting for a file descriptor to become ready.
//
// On a fiber these suspend the fiber until the shard's reactor reports the fd ready; on a
// plain thread they block in poll(2). They return when the fd is readable (or writable), has
// an error, or was hung up: the caller's next read or write tells which. In rare cases they
// return without the fd being ready (the fd was dup'ed and its twin closed): callers loop, as
// they must around any non-blocking call.
//
// Throws timeout_error when `until` (or an enclosing deadline_scope) passes, cancelled when the
// fiber is cancelled, io_error for an invalid fd (EBADF) or a negative fd. Files that epoll
// cannot watch (regular files, directories) are always ready: the functions return at once.
#pragma once

#include "balrog/deadline.hpp"

namespace balrog {

void wait_readable(int fd, deadline until = deadline::never());
void wait_writable(int fd, deadline until = deadline::never());

}  // namespace balrog
