-- ACCOUNTS
SELECT id, carrier, name
FROM carrier_accounts

-- LOOKUP
SELECT 0 AS kind, NULL::text AS receipt, s.id, s.carrier, s.external_id, s.carrier_account_id,
s.tracking_code, s.service, s.order_number, s.invoice_key, s.shipped_at, s.promised_delivery_date,
s.declared_value, s.shipping_cost, s.customer_name, s.customer_email, s.customer_phone, s.customer_consent,
s.destination_postal_code, s.destination_city, s.destination_state, s.origin_postal_code, s.origin_state,
s.category, s.items
FROM unnest($1::text[], $2::text[]) AS u(carrier, code)
JOIN shipments s ON s.carrier = u.carrier AND s.tracking_code = u.code
UNION ALL
SELECT 0, NULL, s.id, s.carrier, s.external_id, s.carrier_account_id, s.tracking_code, s.service,
s.order_number, s.invoice_key, s.shipped_at, s.promised_delivery_date, s.declared_value, s.shipping_cost,
s.customer_name, s.customer_email, s.customer_phone, s.customer_consent, s.destination_postal_code,
s.destination_city, s.destination_state, s.origin_postal_code, s.origin_state, s.category, s.items
FROM shipments s
WHERE s.external_id = ANY($3::text[])
UNION ALL
SELECT 1, r.id, NULL, r.response::text, r.body_hash, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM webhook_receipts r
WHERE r.id = ANY($4::text[])
UNION ALL
SELECT 2, NULL, nextval(pg_get_serial_sequence('shipments', 'id')), NULL, NULL, NULL, NULL, NULL, NULL, NULL,
NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM generate_series(1, $5::int)

-- STORE
WITH new AS (INSERT INTO shipments (id, carrier, external_id, carrier_account_id, tracking_code, service,
order_number, invoice_key, shipped_at, promised_delivery_date, declared_value, shipping_cost, customer_name,
customer_email, customer_phone, customer_consent, destination_postal_code, destination_city,
destination_state, origin_postal_code, origin_state, category, items, held_reason, requested_account,
created_at, updated_at, status, next_poll_at, poll_error_count)
SELECT u.id, u.carrier, u.external_id, u.carrier_account_id, u.tracking_code, u.service, u.order_number,
u.invoice_key, u.shipped_at, u.promised_delivery_date, u.declared_value, u.shipping_cost, u.customer_name,
u.customer_email, u.customer_phone, u.customer_consent, u.destination_postal_code, u.destination_city,
u.destination_state, u.origin_postal_code, u.origin_state, u.category, u.items::json, u.held_reason,
u.requested_account, $1, $1, 'pending', CASE WHEN u.held_reason IS NULL THEN $1::timestamptz END, 0
FROM unnest($5::bigint[], $6::text[], $7::text[], $8::BIGINT[], $9::text[], $10::text[], $11::text[],
$12::text[], $13::TIMESTAMP WITH TIME ZONE[], $14::DATE[], $15::NUMERIC(12, 2)[], $16::NUMERIC(12, 2)[],
$17::text[], $18::text[], $19::text[], $20::BOOLEAN[], $21::text[], $22::text[], $23::text[], $24::text[],
$25::text[], $26::text[], $27::text[], $28::text[], $29::text[]) AS u(id, carrier, external_id,
carrier_account_id, tracking_code, service, order_number, invoice_key, shipped_at, promised_delivery_date,
declared_value, shipping_cost, customer_name, customer_email, customer_phone, customer_consent,
destination_postal_code, destination_city, destination_state, origin_postal_code, origin_state, category,
items, held_reason, requested_account))
INSERT INTO webhook_receipts (id, received_at, body_hash, response)
SELECT i, $1, h, r::json
FROM unnest($2::text[], $3::text[], $4::text[]) AS u(i, h, r)

-- UPDATE
UPDATE shipments
SET updated_at = $2, external_id = coalesce($3::text, external_id), carrier_account_id = coalesce($4::BIGINT,
carrier_account_id), tracking_code = coalesce($5::text, tracking_code), service = coalesce($6::text, service),
order_number = coalesce($7::text, order_number), invoice_key = coalesce($8::text, invoice_key), shipped_at =
coalesce($9::TIMESTAMP WITH TIME ZONE, shipped_at), promised_delivery_date = coalesce($10::DATE,
promised_delivery_date), declared_value = coalesce($11::NUMERIC(12, 2), declared_value), shipping_cost =
coalesce($12::NUMERIC(12, 2), shipping_cost), customer_name = coalesce($13::text, customer_name),
customer_email = coalesce($14::text, customer_email), customer_phone = coalesce($15::text, customer_phone),
customer_consent = coalesce($16::BOOLEAN, customer_consent), destination_postal_code = coalesce($17::text,
destination_postal_code), destination_city = coalesce($18::text, destination_city), destination_state =
coalesce($19::text, destination_state), origin_postal_code = coalesce($20::text, origin_postal_code),
origin_state = coalesce($21::text, origin_state), category = coalesce($22::text, category), items =
coalesce($23::text::json, items)
WHERE id = $1

-- RESET
UPDATE shipments
SET (status, status_reason, status_changed_at, last_event_at, carrier_expected_delivery, delivered_at,
poll_error, poll_error_count, poll_stopped, events_digest, poll_leased_until, next_poll_at) = ($2::text,
$3::text, $4::TIMESTAMP WITH TIME ZONE, $5::TIMESTAMP WITH TIME ZONE, $6::DATE, $7::TIMESTAMP WITH TIME ZONE,
$8::text, $9::INTEGER, $10::text, $11::text, $12::TIMESTAMP WITH TIME ZONE, $13::TIMESTAMP WITH TIME ZONE)
WHERE id = ANY($1::bigint[])

-- DELETE_EVENTS
DELETE
FROM tracking_events
WHERE shipment_id = ANY($1::bigint[])

-- REVISION
INSERT INTO shipment_revisions (shipment_id, changed_at, source, changes) VALUES ($1, $2, $3, $4::json)
