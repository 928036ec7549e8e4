-- Settings for streaming runs against the test broker: an empty partition would otherwise hold
-- the watermark back for ever, so idle sources stop counting after a second.
SET 'table.exec.source.idle-timeout' = '1 s';
