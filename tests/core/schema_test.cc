#include "core/schema.h"

#include <gtest/gtest.h>

#include "tests/core/msgpack_test_util.h"

namespace rill {
namespace {

using test::json;
using test::mp;

// Parses a schema from JSON and returns the error ("" when it parsed).
std::string parse_error(const std::string& text) {
  std::string error;
  auto s = schema::parse(text, error);
  EXPECT_EQ(s == nullptr, !error.empty()) << error;
  return error;
}

std::string with_field(const json& field) {
  json j = {{"aggregates",
             {{"thing", {{"commands", {{"MAKE", {{"creates", true}, {"event", "MADE"},
                                                  {"fields", {{"f", field}}}}}}}}}}}};
  return j.dump();
}

TEST(Schema, DefaultSchemaIsDomainMd) {
  const schema& s = schema::default_schema();
  ASSERT_EQ(s.aggregate_count(), 3u);
  EXPECT_EQ(s.aggregate(0).name, "campaign");
  EXPECT_EQ(s.aggregate(1).name, "customer");
  EXPECT_EQ(s.aggregate(2).name, "order");
  struct row {
    const char *agg, *cmd, *event;
    bool creates;
  };
  for (const row& r : {row{"customer", "CREATE_CUSTOMER", "CUSTOMER_CREATED", true},
                       row{"customer", "UPDATE_CUSTOMER", "CUSTOMER_UPDATED", false},
                       row{"customer", "UPDATE_CUSTOMER_CLASSIFICATION",
                           "CUSTOMER_CLASSIFICATION_UPDATED", false},
                       row{"order", "CREATE_ORDER", "ORDER_CREATED", true},
                       row{"order", "SET_EXCHANGE_RATE", "EXCHANGE_RATE_SET", false},
                       row{"campaign", "RUN_EMAIL_CAMPAIGN", "EMAIL_CAMPAIGN_STARTED", true}}) {
    const command_def* c = s.find_command(r.agg, r.cmd);
    ASSERT_NE(c, nullptr) << r.cmd;
    EXPECT_EQ(c->event, r.event);
    EXPECT_EQ(c->creates, r.creates);
    EXPECT_EQ(&s.aggregate(c->aggregate), s.find_aggregate(r.agg));
    EXPECT_EQ(s.find_event(r.agg, r.event), c);
  }
  EXPECT_EQ(s.find_command("order", "CREATE_CUSTOMER"), nullptr);
  EXPECT_EQ(s.find_aggregate("invoice"), nullptr);
  const command_def* order = s.find_command("order", "CREATE_ORDER");
  const field_def* cust = order->find_field("customer_id");
  ASSERT_NE(cust, nullptr);
  EXPECT_EQ(cust->ref_index, s.find_aggregate("customer")->index);
  EXPECT_TRUE(order->has_refs);
  EXPECT_TRUE(s.find_command("customer", "UPDATE_CUSTOMER")->at_least_one);
}

TEST(Schema, ParseErrorsSayWhere) {
  EXPECT_NE(parse_error("{").find("invalid JSON"), std::string::npos);
  EXPECT_NE(parse_error("[]").find("object"), std::string::npos);
  EXPECT_NE(parse_error("{}").find("aggregates"), std::string::npos);
  EXPECT_NE(parse_error(R"({"aggregates": {}})").find("non-empty"), std::string::npos);
  EXPECT_NE(parse_error(R"({"version": 2, "aggregates": {"a": {"commands": {"C": {"event": "E"}}}}})")
                .find("version"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"aggregates": {"a": {"commands": {"C": {"event": "E"}}}}, "x": 1})")
                .find("unknown key \"x\""),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"aggregates": {"a/b": {"commands": {"C": {"event": "E"}}}}})")
                .find("aggregates.a/b"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"aggregates": {"a": {"commands": {"C": {}}}}})").find("event"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"aggregates": {"a": {"commands": {"C": {"event": "E", "creates": 1}}}}})")
                .find("aggregates.a.commands.C.creates"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"aggregates": {"a": {"commands": {"C": {"event": "E"}}}, "a": {}}})")
                .find("duplicate key \"a\""),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"aggregates": {"a": {"commands": {"C": {"event": "E", "at_least_one": true}}}}})")
                .find("at_least_one"),
            std::string::npos);
}

// Large generated schemas load: 2,000 aggregates that each reference the
// next, 5,000 commands in one aggregate, a one_of of 20,000 values (each
// took time quadratic in its size: a 100,000-value one_of 25-55 s, 40,000
// commands 11 s, 40,000 referencing aggregates 41 s; bench/RESULTS.md
// session 22). Membership, references and duplicates still work, and a
// refusal quotes the first values of a long one_of, not all of them.
TEST(Schema, LargeGeneratedSchemasLoad) {
  json aggs = json::object();
  for (int i = 0; i < 2000; ++i)
    aggs["a" + std::to_string(i)] = {{"commands",
                                      {{"C",
                                        {{"event", "E"},
                                         {"creates", true},
                                         {"fields",
                                          {{"r",
                                            {{"type", "string"},
                                             {"optional", true},
                                             {"ref", "a" + std::to_string((i + 1) % 2000)}}}}}}}}}};
  json cmds = json::object();
  for (int i = 0; i < 5000; ++i)
    cmds["C" + std::to_string(i)] = {{"event", "E" + std::to_string(i)}, {"creates", true}};
  json values = json::array();
  for (int i = 0; i < 20000; ++i) values.push_back("v" + std::to_string(i));
  aggs["many"] = {{"commands", cmds}};
  aggs["big"] = {{"commands",
                  {{"P",
                    {{"event", "Q"},
                     {"creates", true},
                     {"fields", {{"v", {{"type", "string"}, {"one_of", values}}}}}}}}}};
  std::string error;
  auto s = schema::parse(json{{"aggregates", aggs}}.dump(), error);
  ASSERT_NE(s, nullptr) << error;
  EXPECT_NE(s->find_command("many", "C4999"), nullptr);
  const command_def* a = s->find_command("a1999", "C");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->fields.size(), 1u);
  EXPECT_EQ(s->aggregates()[static_cast<size_t>(a->fields[0].ref_index)].name, "a0");
  const command_def* p = s->find_command("big", "P");
  ASSERT_NE(p, nullptr);
  std::string message;
  EXPECT_EQ(p->fields[0].check_string("v19999", message), errc::ok) << message;
  EXPECT_EQ(p->fields[0].check_string("v20000", message), errc::bad_request);
  EXPECT_NE(message.find("v0, v1, v2"), std::string::npos) << message;
  EXPECT_NE(message.find("(20000 values)"), std::string::npos) << message;
  EXPECT_LT(message.size(), 400u);
  {  // and long values are quoted cut short
    json longs = json::array();
    for (int i = 0; i < 24; ++i) longs.push_back(std::string(3000, static_cast<char>('a' + i)));
    auto l = schema::parse(
        json{{"aggregates",
              {{"t",
                {{"commands",
                  {{"C",
                    {{"event", "E"},
                     {"fields", {{"v", {{"type", "string"}, {"one_of", longs}}}}}}}}}}}}}}
            .dump(),
        error);
    ASSERT_NE(l, nullptr) << error;
    EXPECT_EQ(l->find_command("t", "C")->fields[0].check_string("zz", message), errc::bad_request);
    EXPECT_LT(message.size(), 2000u);
    EXPECT_NE(message.find("aaa..."), std::string::npos) << message.substr(0, 200);
  }
  values.push_back("v123");
  aggs["big"]["commands"]["P"]["fields"]["v"]["one_of"] = values;
  EXPECT_NE(parse_error(json{{"aggregates", aggs}}.dump()).find("duplicate value \"v123\""),
            std::string::npos);
  // A key repeated deep inside is still found.
  EXPECT_NE(parse_error(R"({"aggregates": {"a": {"commands": {"C": {"event": "E", "fields":
      {"f": {"type": "string", "type": "number"}}}}}}})")
                .find("duplicate key \"type\""),
            std::string::npos);
}

TEST(Schema, FieldErrors) {
  EXPECT_EQ(parse_error(with_field({{"type", "string"}})), "");
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "missing key \"type\""},
      {{{"type", "text"}}, "unknown type \"text\""},
      {{{"type", "string"}, {"gtt", 1}}, "fields.f: unknown key \"gtt\""},
      {{{"type", "string"}, {"gt", 0}}, "only for type number"},
      {{{"type", "number"}, {"one_of", {"A"}}}, "one_of: only for type string"},
      {{{"type", "string"}, {"one_of", json::array()}}, "non-empty"},
      {{{"type", "string"}, {"one_of", {"A", "A"}}}, "duplicate value"},
      {{{"type", "number"}, {"letters", 3}}, "letters: only for type string"},
      {{{"type", "string"}, {"letters", 0}}, "at least 1"},
      {{{"type", "string"}, {"ref", "nowhere"}}, "no aggregate type \"nowhere\""},
      {{{"type", "integer"}, {"ref", "thing"}}, "ref: only for type string"},
      {{{"type", "number"}, {"gt", 1}, {"ge", 1}}, "not both"},
      {{{"type", "number"}, {"gt", 5}, {"lt", 3}}, "no valid value"},
      {{{"type", "number"}, {"ge", 3}, {"lt", 3}}, "no valid value"},
      {{{"type", "bool"}, {"min_len", 1}}, "min_len/max_len only"},
      {{{"type", "string"}, {"min_len", 3}, {"max_len", 2}}, "greater than max_len"},
      {{{"type", "string"}, {"min_len", -1}}, "non-negative integer"},
      {{{"type", "string"}, {"optional", "yes"}}, "optional: must be true or false"},
      // Rules that leave no value a command could send, and a ref to no type.
      {{{"type", "string"}, {"ref", ""}}, "ref: must be an aggregate type name"},
      {{{"type", "integer"}, {"gt", 1}, {"lt", 2}}, "no valid integer"},
      {{{"type", "integer"}, {"gt", 18446744073709551615u}}, "no valid integer"},
      {{{"type", "integer"}, {"lt", std::numeric_limits<int64_t>::min()}}, "no valid integer"},
      {{{"type", "integer"}, {"gt", 1e30}}, "no valid integer"},
      {{{"type", "integer"}, {"ge", 1.2}, {"le", 1.8}}, "no valid integer"},
      {{{"type", "string"}, {"letters", 3}, {"max_len", 2}}, "outside min_len/max_len"},
      {{{"type", "string"}, {"letters", 3}, {"min_len", 4}}, "outside min_len/max_len"},
      {{{"type", "string"}, {"letters", 3}, {"one_of", {"EUR", "ab"}}},
       "\"ab\" would be refused (data.f: must be 3 ASCII letters)"},
      {{{"type", "string"}, {"max_len", 2}, {"one_of", {"abc"}}}, "\"abc\" would be refused"},
      {"string", "must be an object"},
  };
  for (const auto& [field, expected] : cases) {
    const std::string e = parse_error(with_field(field));
    EXPECT_NE(e.find(expected), std::string::npos) << field.dump() << " -> " << e;
    if (expected != "must be an object" && expected.find("fields.f") == std::string::npos) {
      EXPECT_NE(e.find("aggregates.thing.commands.MAKE.fields.f"), std::string::npos) << e;
    }
  }
  // Bounds and lists that leave some value stay valid.
  for (const json& ok : {json{{"type", "integer"}, {"gt", 1}, {"lt", 3}},
                         json{{"type", "integer"}, {"ge", 1.5}, {"le", 2}},
                         json{{"type", "string"}, {"letters", 3}, {"min_len", 3}, {"max_len", 3}},
                         json{{"type", "string"}, {"letters", 3}, {"one_of", {"EUR", "usd"}}}})
    EXPECT_EQ(parse_error(with_field(ok)), "") << ok.dump();
  json many;
  for (int i = 0; i < 65; ++i) many["f" + std::to_string(i)] = {{"type", "any"}};
  json j = {{"aggregates", {{"t", {{"commands", {{"C", {{"event", "E"}, {"fields", many}}}}}}}}}};
  EXPECT_NE(parse_error(j.dump()).find("more than 64"), std::string::npos);
}

// check_data of the default schema's commands.
class DataTest : public ::testing::Test {
 protected:
  errc check(const char* agg, const char* cmd, const json& data) {
    const command_def* c = schema::default_schema().find_command(agg, cmd);
    EXPECT_NE(c, nullptr);
    bytes_ = mp(data);
    zone_.clear();
    obj_ = msgpack::unpack(zone_, bytes_.data(), bytes_.size());
    return c->check_data(&obj_, message_);
  }
  // `data` against command C of aggregate t of schema `s`.
  errc check_in(const schema& s, const json& data) {
    const command_def* c = s.find_command("t", "C");
    EXPECT_NE(c, nullptr);
    bytes_ = mp(data);
    zone_.clear();
    obj_ = msgpack::unpack(zone_, bytes_.data(), bytes_.size());
    return c->check_data(&obj_, message_);
  }
  std::string bytes_;
  msgpack::zone zone_;
  msgpack::object obj_;
  std::string message_;
};

TEST_F(DataTest, AcceptsDomainCommands) {
  EXPECT_EQ(check("customer", "CREATE_CUSTOMER", {{"name", "Ada"}, {"email", "ada@x.org"}}),
            errc::ok)
      << message_;
  EXPECT_EQ(check("customer", "CREATE_CUSTOMER",
                  {{"name", "Zoë"}, {"email", "z@x.org"}, {"country", "FR"}}),
            errc::ok)
      << message_;
  EXPECT_EQ(check("customer", "UPDATE_CUSTOMER", {{"email", "new@x.org"}}), errc::ok) << message_;
  EXPECT_EQ(check("customer", "UPDATE_CUSTOMER_CLASSIFICATION", {{"classification", "B"}}),
            errc::ok);
  EXPECT_EQ(check("order", "CREATE_ORDER",
                  {{"customer_id", "c-1"}, {"amount", 12.5}, {"currency", "USD"}}),
            errc::ok)
      << message_;
  EXPECT_EQ(check("order", "CREATE_ORDER",
                  {{"customer_id", "c-1"}, {"amount", 3}, {"currency", "eur"}}),
            errc::ok)
      << message_;  // an integer is a number
  EXPECT_EQ(check("order", "SET_EXCHANGE_RATE", {{"rate", 1.08}, {"base", "EUR"}}), errc::ok);
  EXPECT_EQ(check("campaign", "RUN_EMAIL_CAMPAIGN",
                  {{"segment", "B"}, {"subject", "Hi"}, {"body", "Hello"}}),
            errc::ok);
  const command_def* c = schema::default_schema().find_command("customer", "UPDATE_CUSTOMER");
  EXPECT_EQ(c->check_data(nullptr, message_), errc::bad_request);  // at least one
  EXPECT_NE(message_.find("at least one"), std::string::npos);
}

TEST_F(DataTest, RejectsEachKindOfBadData) {
  struct bad_case {
    const char *agg, *cmd;
    json data;
    const char* expect_in_message;
  };
  const std::vector<bad_case> cases = {
      {"customer", "CREATE_CUSTOMER", {{"name", "A"}}, "data.email: missing required field"},
      {"customer", "CREATE_CUSTOMER", {{"name", "A"}, {"email", "e"}, {"age", 3}},
       "data.age: not a field of CREATE_CUSTOMER"},
      {"customer", "CREATE_CUSTOMER", {{"name", 5}, {"email", "e"}}, "data.name: must be a string"},
      {"customer", "CREATE_CUSTOMER", {{"name", ""}, {"email", "e"}}, "data.name: must have at least 1"},
      {"customer", "CREATE_CUSTOMER", {{"name", "A"}, {"email", "e"}, {"country", nullptr}},
       "data.country: must be a string"},
      {"customer", "UPDATE_CUSTOMER", json::object(), "at least one of country, email, name"},
      {"customer", "UPDATE_CUSTOMER_CLASSIFICATION", {{"classification", "D"}},
       "data.classification: must be one of A, B, C"},
      {"order", "CREATE_ORDER", {{"customer_id", "c"}, {"amount", 0}, {"currency", "USD"}},
       "data.amount: must be > 0"},
      {"order", "CREATE_ORDER", {{"customer_id", "c"}, {"amount", -5}, {"currency", "USD"}},
       "data.amount: must be > 0"},
      {"order", "CREATE_ORDER", {{"customer_id", "c"}, {"amount", "12"}, {"currency", "USD"}},
       "data.amount: must be a number"},
      {"order", "CREATE_ORDER", {{"customer_id", "c"}, {"amount", 1}, {"currency", "US"}},
       "data.currency: must be 3 ASCII letters"},
      {"order", "CREATE_ORDER", {{"customer_id", "c"}, {"amount", 1}, {"currency", "U1D"}},
       "data.currency: must be 3 ASCII letters"},
      {"order", "CREATE_ORDER", {{"customer_id", 17}, {"amount", 1}, {"currency", "USD"}},
       "data.customer_id: must be a string"},
      {"order", "SET_EXCHANGE_RATE", {{"rate", 1.1}}, "data.base: missing required field"},
      {"campaign", "RUN_EMAIL_CAMPAIGN", {{"segment", "B"}, {"subject", "s"}, {"body", true}},
       "data.body: must be a string"},
  };
  for (const bad_case& b : cases) {
    EXPECT_EQ(check(b.agg, b.cmd, b.data), errc::bad_request) << b.data.dump();
    EXPECT_NE(message_.find(b.expect_in_message), std::string::npos)
        << b.data.dump() << " -> " << message_;
  }
}

TEST_F(DataTest, NonFiniteNumbersAndNonStringKeysAreRejected) {
  const command_def* c = schema::default_schema().find_command("order", "SET_EXCHANGE_RATE");
  msgpack::zone zone;
  msgpack::object_kv kv[2];
  kv[0].key = msgpack::object("rate", zone);
  kv[0].val = msgpack::object(std::numeric_limits<double>::infinity());
  kv[1].key = msgpack::object("base", zone);
  kv[1].val = msgpack::object("EUR", zone);
  msgpack::object data;
  data.type = msgpack::type::MAP;
  data.via.map.size = 2;
  data.via.map.ptr = kv;
  EXPECT_EQ(c->check_data(&data, message_), errc::bad_request);
  EXPECT_NE(message_.find("finite"), std::string::npos) << message_;
  kv[0].val = msgpack::object(std::nan(""));
  EXPECT_EQ(c->check_data(&data, message_), errc::bad_request);
  kv[0].val = msgpack::object(1.5);
  EXPECT_EQ(c->check_data(&data, message_), errc::ok) << message_;
  kv[0].key = msgpack::object(5);
  EXPECT_EQ(c->check_data(&data, message_), errc::bad_request);
  kv[0].key = msgpack::object("base", zone);  // duplicate
  kv[0].val = msgpack::object("EUR", zone);
  EXPECT_EQ(c->check_data(&data, message_), errc::bad_request);
  EXPECT_NE(message_.find("duplicate"), std::string::npos) << message_;
}

// Lookups by name find every definition and nothing else, both for short
// lists (scanned) and long ones (searched): 3 and 12 aggregates, names of
// equal length that differ in one byte, prefixes and extensions.
TEST(SchemaLookup, FindsEveryNameAndNoNearMiss) {
  for (int n : {3, 12}) {
    std::string text = R"({"aggregates": {)";
    for (int i = 0; i < n; ++i) {
      if (i) text += ",";
      const std::string a = "agg" + std::string(1, static_cast<char>('a' + i));
      text += "\"" + a + "\": {\"commands\": {";
      for (int j = 0; j < n; ++j) {
        if (j) text += ",";
        text += "\"C" + std::to_string(j) + "\": {\"event\": \"E" + std::to_string(j) + "\"}";
      }
      text += "}}";
    }
    text += "}}";
    std::string error;
    auto s = schema::parse(text, error);
    ASSERT_NE(s, nullptr) << error;
    ASSERT_EQ(s->aggregate_count(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const std::string a = "agg" + std::string(1, static_cast<char>('a' + i));
      const aggregate_def* def = s->find_aggregate(a);
      ASSERT_NE(def, nullptr) << a;
      EXPECT_EQ(def->name, a);
      for (int j = 0; j < n; ++j) {
        const command_def* c = s->find_command(a, "C" + std::to_string(j));
        ASSERT_NE(c, nullptr) << a << " C" << j;
        EXPECT_EQ(c->event, "E" + std::to_string(j));
      }
      EXPECT_EQ(s->find_command(a, "C"), nullptr);
      EXPECT_EQ(s->find_command(a, "C" + std::to_string(n)), nullptr);
      EXPECT_EQ(s->find_command(a, "c0"), nullptr);
    }
    EXPECT_EQ(s->find_aggregate("agg"), nullptr);
    EXPECT_EQ(s->find_aggregate("aggaa"), nullptr);
    EXPECT_EQ(s->find_aggregate("agg" + std::string(1, static_cast<char>('a' + n))), nullptr);
    EXPECT_EQ(s->find_aggregate("AGGA"), nullptr);
    EXPECT_EQ(s->find_aggregate(""), nullptr);
  }
}

TEST_F(DataTest, GeneralFieldRules) {
  std::string error;
  auto s = schema::parse(R"({"aggregates": {"t": {"commands": {"C": {"event": "E", "fields": {
      "n": {"type": "integer", "ge": 1, "le": 10},
      "tags": {"type": "array", "max_len": 2, "optional": true},
      "meta": {"type": "map", "min_len": 1, "optional": true},
      "flag": {"type": "bool", "optional": true},
      "name": {"type": "string", "max_len": 3, "optional": true},
      "x": {"type": "any", "optional": true}}}}}}})",
                         error);
  ASSERT_NE(s, nullptr) << error;
  const command_def* c = s->find_command("t", "C");
  auto run = [&](const json& j) {
    bytes_ = mp(j);
    zone_.clear();
    obj_ = msgpack::unpack(zone_, bytes_.data(), bytes_.size());
    return c->check_data(&obj_, message_);
  };
  EXPECT_EQ(run({{"n", 1}}), errc::ok) << message_;
  EXPECT_EQ(run({{"n", 10}, {"tags", {1, 2}}, {"meta", {{"a", 1}}}, {"flag", false},
                 {"name", "ééé"}, {"x", nullptr}}),
            errc::ok)
      << message_;  // max_len counts characters, not bytes
  EXPECT_EQ(run({{"n", 0}}), errc::bad_request);
  EXPECT_EQ(run({{"n", 11}}), errc::bad_request);
  EXPECT_EQ(run({{"n", 1.5}}), errc::bad_request);
  EXPECT_NE(message_.find("integer"), std::string::npos);
  EXPECT_EQ(run({{"n", 1}, {"tags", {1, 2, 3}}}), errc::bad_request);
  EXPECT_EQ(run({{"n", 1}, {"meta", json::object()}}), errc::bad_request);
  EXPECT_EQ(run({{"n", 1}, {"flag", 1}}), errc::bad_request);
  EXPECT_EQ(run({{"n", 1}, {"name", "abcd"}}), errc::bad_request);
  EXPECT_EQ(run({{"n", 1}, {"name", "éééé"}}), errc::bad_request);
}

// Inside map, array and any values every map key is a string and every
// number finite: each event must read as JSON (rill tail, clients).
TEST_F(DataTest, NestedValuesReadAsJson) {
  std::string error;
  auto s = schema::parse(R"({"aggregates": {"t": {"commands": {"C": {"event": "E", "fields": {
      "m": {"type": "map", "optional": true},
      "a": {"type": "array", "optional": true},
      "x": {"type": "any", "optional": true}}}}}}})",
                         error);
  ASSERT_NE(s, nullptr) << error;
  const command_def* c = s->find_command("t", "C");
  // {field: value}, value given as raw MessagePack bytes.
  auto run = [&](const char* field, const std::string& value) {
    bytes_ = std::string("\x81") + static_cast<char>(0xa0 | 1) + field + value;
    zone_.clear();
    obj_ = msgpack::unpack(zone_, bytes_.data(), bytes_.size());
    return c->check_data(&obj_, message_);
  };
  const std::string int_key_map("\x81\x01\x02", 3);                  // {1: 2}
  const std::string nested(std::string("\x81\xa1k") + int_key_map);  // {"k": {1: 2}}
  const std::string nan("\xcb\x7f\xf8\0\0\0\0\0\0", 9);              // NaN
  const std::string fine("\x82\xa1k\x91\x01\xa1z\xc3", 8);           // {"k": [1], "z": true}
  EXPECT_EQ(run("m", fine), errc::ok) << message_;
  EXPECT_EQ(run("m", int_key_map), errc::bad_request);
  EXPECT_NE(message_.find("data.m: map keys inside it must be strings"), std::string::npos)
      << message_;
  EXPECT_EQ(run("m", nested), errc::bad_request);
  EXPECT_EQ(run("a", std::string("\x91") + nested), errc::bad_request);
  EXPECT_EQ(run("a", std::string("\x92\x01") + nan), errc::bad_request);
  EXPECT_EQ(run("x", nan), errc::bad_request);
  EXPECT_EQ(run("x", int_key_map), errc::bad_request);
  EXPECT_EQ(run("x", fine), errc::ok) << message_;
  EXPECT_EQ(run("x", std::string("\xc0")), errc::ok) << "null is a value of any";
  // Binary and extension values have no JSON form ({"bytes": [...]} would
  // be mistaken for a map): refused at any depth.
  const std::string bin("\xc4\x02\x00\x01", 4);  // bin8 of 2 bytes
  const std::string ext("\xd4\x01\x07", 3);      // fixext1, type 1
  EXPECT_EQ(run("x", bin), errc::bad_request);
  EXPECT_NE(message_.find("no value binary or an extension"), std::string::npos) << message_;
  EXPECT_EQ(run("x", ext), errc::bad_request);
  EXPECT_EQ(run("a", std::string("\x91") + bin), errc::bad_request);
  EXPECT_EQ(run("m", std::string("\x81\xa1k") + ext), errc::bad_request);
  // A key twice in one map, at any depth and in a map of any size: JSON
  // keeps one of them (it was journaled; dump showed {"k":2}).
  const std::string twice("\x82\xa1k\x01\xa1k\x02", 7);  // {"k": 1, "k": 2}
  EXPECT_EQ(run("x", twice), errc::bad_request);
  EXPECT_NE(message_.find("each once in its map"), std::string::npos) << message_;
  EXPECT_EQ(run("m", twice), errc::bad_request);
  EXPECT_EQ(run("a", std::string("\x91\x81\xa1z") + twice), errc::bad_request);
  std::string wide("\xde\x00\x28", 3);  // map16 of 40 entries, "k0".."k39", then "k7" again
  for (int i = 0; i < 40; ++i) {
    const std::string k = "k" + std::to_string(i == 39 ? 7 : i);
    wide += static_cast<char>(0xa0 | k.size());
    wide += k;
    wide += '\x01';
  }
  EXPECT_EQ(run("m", wide), errc::bad_request);
  wide.replace(wide.size() - 4, 3, "\xa2z9");  // the last key unique again
  EXPECT_EQ(run("m", wide), errc::ok) << message_;
  EXPECT_EQ(run("x", std::string("\x82\xa1k\x01\xa1K\x02", 7)), errc::ok) << message_;
}

// Bounds are quoted as people write them: whole numbers in full, others in
// their shortest form (-1e300 was a 300-digit number, 0.001 was "0.001").
TEST_F(DataTest, BoundsAreQuotedInTheirShortestForm) {
  std::string error;
  auto s = schema::parse(R"({"aggregates": {"t": {"commands": {"C": {"event": "E", "fields": {
      "a": {"type": "number", "optional": true, "gt": -1e300},
      "b": {"type": "number", "optional": true, "lt": 0.001},
      "c": {"type": "number", "optional": true, "le": 1000000},
      "d": {"type": "number", "optional": true, "ge": 2.5}}}}}}})",
                         error);
  ASSERT_NE(s, nullptr) << error;
  auto run = [&](const json& data) { return check_in(*s, data); };
  EXPECT_EQ(run({{"a", -1.7e308}}), errc::bad_request);
  EXPECT_EQ(message_, "data.a: must be > -1e+300");
  EXPECT_EQ(run({{"b", 1}}), errc::bad_request);
  EXPECT_EQ(message_, "data.b: must be < 0.001");
  EXPECT_EQ(run({{"c", 1e7}}), errc::bad_request);
  EXPECT_EQ(message_, "data.c: must be <= 1000000");
  EXPECT_EQ(run({{"d", 1}}), errc::bad_request);
  EXPECT_EQ(message_, "data.d: must be >= 2.5");
}

// Integer bounds and values compare exactly, also past 2^53 and at the ends
// of uint64 and int64 (they were compared as doubles: 2^53 passed ge 2^53+1,
// 2^53+1 failed gt 2^53; an outside probe).
TEST_F(DataTest, IntegerBoundsCompareExactly) {
  std::string error;
  auto s = schema::parse(R"({"aggregates": {"t": {"commands": {"C": {"event": "E", "fields": {
      "n": {"type": "integer", "optional": true, "ge": 9007199254740993},
      "m": {"type": "integer", "optional": true, "gt": 9007199254740992},
      "u": {"type": "integer", "optional": true, "ge": 18446744073709551615},
      "i": {"type": "integer", "optional": true, "le": -9223372036854775808},
      "x": {"type": "number", "optional": true, "le": 10000000000000000000}}}}}}})",
                         error);
  ASSERT_NE(s, nullptr) << error;
  auto run = [&](const json& data) { return check_in(*s, data); };
  EXPECT_EQ(run({{"n", uint64_t{9007199254740992}}}), errc::bad_request);
  EXPECT_EQ(message_, "data.n: must be >= 9007199254740993");
  EXPECT_EQ(run({{"n", uint64_t{9007199254740993}}}), errc::ok) << message_;
  EXPECT_EQ(run({{"m", uint64_t{9007199254740993}}}), errc::ok) << message_;
  EXPECT_EQ(run({{"m", uint64_t{9007199254740992}}}), errc::bad_request);
  EXPECT_EQ(run({{"u", uint64_t{18446744073709551614u}}}), errc::bad_request);
  EXPECT_EQ(message_, "data.u: must be >= 18446744073709551615");
  EXPECT_EQ(run({{"u", uint64_t{18446744073709551615u}}}), errc::ok) << message_;
  EXPECT_EQ(run({{"i", int64_t{-9223372036854775807}}}), errc::bad_request);
  EXPECT_EQ(message_, "data.i: must be <= -9223372036854775808");
  EXPECT_EQ(run({{"i", std::numeric_limits<int64_t>::min()}}), errc::ok) << message_;
  EXPECT_EQ(run({{"x", uint64_t{10000000000000000001u}}}), errc::bad_request);
  EXPECT_EQ(run({{"x", uint64_t{10000000000000000000u}}}), errc::ok) << message_;
  EXPECT_EQ(run({{"x", 1e19}}), errc::ok) << message_;
}

// String lengths are code points on both sides of the range, whether or not
// the byte count alone could decide (1- to 4-byte characters).
TEST_F(DataTest, StringLengthsCountCodePoints) {
  std::string error;
  auto s = schema::parse(R"({"aggregates": {"t": {"commands": {"C": {"event": "E", "fields": {
      "w": {"type": "string", "min_len": 3, "max_len": 5}}}}}}})",
                         error);
  ASSERT_NE(s, nullptr) << error;
  const command_def* c = s->find_command("t", "C");
  auto run = [&](const std::string& w) {
    bytes_ = mp(json{{"w", w}});
    zone_.clear();
    obj_ = msgpack::unpack(zone_, bytes_.data(), bytes_.size());
    return c->check_data(&obj_, message_);
  };
  EXPECT_EQ(run("ab"), errc::bad_request);
  EXPECT_EQ(run("abc"), errc::ok) << message_;
  EXPECT_EQ(run("abcde"), errc::ok) << message_;
  EXPECT_EQ(run("abcdef"), errc::bad_request);
  EXPECT_EQ(run("éé"), errc::bad_request);         // 4 bytes, 2 characters
  EXPECT_EQ(run("ééé"), errc::ok) << message_;     // 6 bytes, 3 characters
  EXPECT_EQ(run("ééééé"), errc::ok) << message_;   // 10 bytes, 5 characters
  EXPECT_EQ(run("éééééé"), errc::bad_request);     // 12 bytes, 6 characters
  EXPECT_EQ(run("😀😀"), errc::bad_request);       // 8 bytes, 2 characters
  EXPECT_EQ(run("😀😀😀"), errc::ok) << message_;  // 12 bytes, 3 characters
  EXPECT_NE(run("abcdef"), errc::ok);
  EXPECT_NE(message_.find("at most 5 characters"), std::string::npos) << message_;
}

}  // namespace
}  // namespace rill
