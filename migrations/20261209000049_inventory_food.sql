-- Food and drink in the catalogue: the kitchen's ingredients are inventory items, kept in a
-- food warehouse and issued through the same ledger as medicines.
ALTER TABLE inventory.items DROP CONSTRAINT items_item_class_check;
ALTER TABLE inventory.items ADD CONSTRAINT items_item_class_check
    CHECK (item_class IN ('medicine', 'parapharmaceutical', 'auxiliary', 'food'));
