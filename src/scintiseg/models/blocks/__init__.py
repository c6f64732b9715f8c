"""scintiseg.models.blocks"""
