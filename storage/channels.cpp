#include "storage/channels.hpp"

namespace nyxgate::storage {

statement notify(std::string_view channel, std::string_view payload) {
  statement st{"SELECT pg_notify($1, $2)"};
  st.bind(channel).bind(payload);
  return st;
}

db_batch listen_all() {
  db_batch b;
  for (auto channel :
       {tenant_change_channel, master_key_channel, principal_change_channel, blog_change_channel, pipeline_wake_channel,
                       pipeline_progress_channel, pipeline_cancel_channel})
    b.statements.emplace_back("LISTEN " + std::string{channel});
  return b;
}

}  // namespace nyxgate::storage
