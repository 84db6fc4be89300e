#include "list_table.hpp"

#include "tabwriter.hpp"

namespace mkrun::cli {

std::string render_list_table(std::span<const oci::State> states) {
  std::string cells = "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n";
  for (const oci::State& state : states) {
    for (const std::string& cell :
         {state.id, std::to_string(state.pid), state.status, state.bundle, state.created}) {
      cells += cell;
      cells += '\t';
    }
    cells += state.owner;
    cells += '\n';
  }
  return tabwrite(cells, kListTable);
}

}  // namespace mkrun::cli
