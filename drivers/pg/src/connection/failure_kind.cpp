#include "connection/failure_kind.hpp"

#include "balrog/errors.hpp"
#include "balrog/pg/error.hpp"

namespace balrog::pg::detail {

bool is_interruption(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const cancelled&) {
    return true;
  } catch (const timeout_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

bool is_connection_loss(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const connection_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string sqlstate_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const error& err) {
    return err.sqlstate();
  } catch (...) {
    return {};
  }
}

}  // namespace balrog::pg::detail
