#pragma once
// The names of the default domain (DOMAIN.md, schemas/default.json) that the
// read models and sagas react to: aggregate types, event types, commands and
// data fields. One place, so a rename is one edit.
#include <string_view>

namespace rill::readmodels::domain {

// Aggregate types.
inline constexpr std::string_view customer = "customer";
inline constexpr std::string_view order = "order";
inline constexpr std::string_view campaign = "campaign";

// Event types.
inline constexpr std::string_view customer_created = "CUSTOMER_CREATED";
inline constexpr std::string_view customer_updated = "CUSTOMER_UPDATED";
inline constexpr std::string_view classification_updated = "CUSTOMER_CLASSIFICATION_UPDATED";
inline constexpr std::string_view order_created = "ORDER_CREATED";
inline constexpr std::string_view exchange_rate_set = "EXCHANGE_RATE_SET";
inline constexpr std::string_view campaign_started = "EMAIL_CAMPAIGN_STARTED";

// Commands the sagas send.
inline constexpr std::string_view set_exchange_rate = "SET_EXCHANGE_RATE";
inline constexpr std::string_view update_classification = "UPDATE_CUSTOMER_CLASSIFICATION";

// Data fields.
inline constexpr std::string_view f_name = "name";
inline constexpr std::string_view f_email = "email";
inline constexpr std::string_view f_country = "country";
inline constexpr std::string_view f_classification = "classification";
inline constexpr std::string_view f_customer_id = "customer_id";
inline constexpr std::string_view f_amount = "amount";
inline constexpr std::string_view f_currency = "currency";
inline constexpr std::string_view f_rate = "rate";
inline constexpr std::string_view f_base = "base";
inline constexpr std::string_view f_segment = "segment";
inline constexpr std::string_view f_subject = "subject";
inline constexpr std::string_view f_body = "body";

}  // namespace rill::readmodels::domain
