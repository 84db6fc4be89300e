#include <catch2/catch.hpp>

#include "mkrun/ihk/lists.hpp"

using namespace mkrun::ihk;

TEST_CASE("CPU lists parse IHK's grammar and keep their order", "[lists]") {
  auto list = CpuList::parse("4-6,12,2");
  REQUIRE(list);
  CHECK(list->ids() == std::vector<int>{4, 5, 6, 12, 2});
  CHECK(list->to_string() == "4-6,12,2");
  CHECK(CpuList::parse("")->empty());
  CHECK(CpuList::parse(" 3 ")->to_string() == "3");
  CHECK(CpuList(std::vector<int>{1, 2, 3, 5, 7, 8}).to_string() == "1-3,5,7-8");
}

TEST_CASE("CPU lists refuse what IHK would misread", "[lists]") {
  for (const char* bad : {"1,,2", "1-", "-3", "a", "5-3", "1,1", "1-3,2", "99999999"}) {
    INFO(bad);
    CHECK_FALSE(CpuList::parse(bad));
  }
  CHECK(CpuList::parse("5-3").error().render() ==
        "invalid CPU list \"5-3\": range \"5-3\" goes backwards");
}

TEST_CASE("CPU list algebra keeps the left operand's order", "[lists]") {
  CpuList a(std::vector<int>{7, 3, 5, 1});
  CpuList b(std::vector<int>{5, 1, 9});
  CHECK(a.minus(b).ids() == std::vector<int>{7, 3});
  CHECK(a.intersect(b).ids() == std::vector<int>{5, 1});
  CHECK(a.plus(b).ids() == std::vector<int>{7, 3, 5, 1, 9});
  CHECK(a.sorted().ids() == std::vector<int>{1, 3, 5, 7});
  CHECK(a.overlaps(b));
  CHECK_FALSE(a.overlaps(CpuList(std::vector<int>{2})));
  CHECK(a.contains(3));
}

TEST_CASE("sizes use IHK's suffixes, powers of 1024", "[lists]") {
  CHECK(parse_size("4096").value() == 4096);
  CHECK(parse_size("4k").value() == 4096);
  CHECK(parse_size("2G").value() == 2ull << 30);
  CHECK(parse_size("1T").value() == 1ull << 40);
  CHECK(parse_size("1e").value() == 1ull << 60);
  CHECK_FALSE(parse_size("2GB"));
  CHECK_FALSE(parse_size("G"));
  CHECK_FALSE(parse_size("-1"));
  CHECK_FALSE(parse_size("100000E"));
  CHECK(format_size(2ull << 30) == "2G");
  CHECK(format_size(1536ull << 20) == "1536M");
  CHECK(format_size(123) == "123");
}

TEST_CASE("memory lists: size@node, node 0 by default, never \"all\"", "[lists]") {
  auto mem = MemList::parse("2G@0,512M@1,1G");
  REQUIRE(mem);
  CHECK(mem->chunks() ==
        std::vector<MemChunk>{{2ull << 30, 0}, {512ull << 20, 1}, {1ull << 30, 0}});
  CHECK(mem->to_string() == "2G@0,512M@1,1G@0");
  CHECK(mem->total() == (3ull << 30) + (512ull << 20));
  CHECK(mem->on_node(0) == 3ull << 30);
  CHECK(mem->merged().to_string() == "3G@0,512M@1");
  CHECK_FALSE(MemList::parse("all@0"));
  CHECK_FALSE(MemList::parse("2G@"));
  CHECK_FALSE(MemList::parse("2G@x"));
  CHECK_FALSE(MemList::parse("0@0"));
  CHECK(MemList::parse("1M@0")->rounded_up(kMemGranule).to_string() == "4M@0");
  CHECK(MemList::parse("5M@1")->rounded_up(kMemGranule).to_string() == "8M@1");
  CHECK(MemList::parse("8M@1")->rounded_up(kMemGranule).to_string() == "8M@1");
}

TEST_CASE("IKC maps route LWK CPUs to Linux CPUs", "[lists]") {
  auto map = IkcMap::parse("4-5:1+6,7:2");
  REQUIRE(map);
  CHECK(map->routes() == std::vector<IkcRoute>{{4, 1}, {5, 1}, {6, 2}, {7, 2}});
  CHECK(map->to_string() == "4-5:1+6-7:2");
  CHECK(map->lwk_cpus().to_string() == "4-7");
  CHECK(map->linux_cpus().to_string() == "1-2");
  CHECK_FALSE(IkcMap::parse("4-5"));
  CHECK_FALSE(IkcMap::parse("4-5:"));
  CHECK_FALSE(IkcMap::parse(":1"));
  CHECK_FALSE(IkcMap::parse("4:1+4:2"));
  CHECK(IkcMap::parse("")->empty());
}

// NUMA nodes, CPU ids and IKC targets come from annotations: signs, padding and overflow are
// refused, not wrapped into a valid index.
TEST_CASE("list numbers at and past their limits", "[lists]") {
  for (const char* bad : {"2G@-1", "2G@+1", "2G@ 1", "2G@4294967296", "2G@99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(MemList::parse(bad));
  }
  for (const char* bad : {"-1", "+1", "4294967297", "99999999999999999999", "1-+2"}) {
    INFO(bad);
    CHECK_FALSE(CpuList::parse(bad));
  }
  for (const char* bad : {"4-5:-1", "4-5:+1", "4-5:4294967297", "4-5: 1"}) {
    INFO(bad);
    CHECK_FALSE(IkcMap::parse(bad));
  }
}
