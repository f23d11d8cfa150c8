-- A cancelled meeting that was already reminded gets a cancellation notice: when and why it was called off.
ALTER TABLE src_activities ADD COLUMN cancelled_on date, ADD COLUMN cancel_reason text;
